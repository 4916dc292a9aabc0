/*
 * lstm97_lanes.h -- one step of a lane group (LSTM97_LANES sequences) of
 * lstm97_train_batch, the sequences in the lanes of vector registers (structure of arrays).
 *
 * Included by lstm97_batch.h (part of lstm97_impl.h) once per REAL and instruction set
 * (FN, REAL as there).
 *
 * lstm97_train_batch runs its sequences in fixed blocks of LSTM97_BATCH_BLOCK (4), each
 * adding its updates into the dW row of its block.  A full lane group (LSTM97_LANES
 * sequences: 4 doubles or 8 floats in the default 32-byte vectors, one or two blocks)
 * runs here in one pass: every per-sequence quantity is stored as LSTM97_LANES
 * consecutive values, one per sequence, so that one vector holds the value of every
 * sequence of the group.  The weights are shared by the lanes: the forward mat-vecs
 * become one small matrix product (a weight is broadcast, the lanes of z multiply it;
 * small nets read the weights from a table of them already broadcast, FN(lanes_bcast)),
 * and the traces, activations and errors are updated for all lanes in each vector
 * operation; the weight changes of a block's lanes go into its row four columns at a
 * time (FN(lanes_update)).
 *
 * Each lane does the operations of step_fast/step_naive for its sequence in the same
 * order (the sums of FN(dot) included; the build fuses no multiply-add; a weight change
 * is always multiplied by its mask, exact where the tuned step skips a mask of ones), and
 * every element of a block's row gets its sequences' additions in sequence order, as in
 * the per-sequence path.  So the result is bitwise that of the per-sequence path, for
 * every N (whichever sequences run in lanes) and every thread count
 * (tests/test_batch_lanes.py checks it against the plain kernel and against the tuned
 * one with the lanes path off: lstm97_set_batch_lanes).
 *
 * The lane layout of a group uses the group's own rows of the state and work buffers of
 * lstm97_train_batch (LSTM97_LANES state_len and work_len values, contiguous), read and
 * written only by the thread that owns the group (NL = LSTM97_LANES):
 *   state: z (nz, NL), s (C, NL), dS_c (C, nz, NL), dS_in (C, nz, NL)     = NL state_len
 *   work:  net = [y_in (B, NL), y_out (B, NL), g_c (C, NL)], u (nu, NL), h_s (C, NL),
 *          y_c (C, NL), y_k (K, NL), e_k (K, NL), back_c (C, NL), e_s (C, NL),
 *          e_out (B, NL)                                                  <= NL work_len
 * Cells it computes: the 1997 cell with or without output gates, either source set,
 * every g and h, logistic or linear outputs.  Forget gates, peepholes, softmax outputs
 * and the plain kernel (dims.kernel = LSTM97_KERNEL_NAIVE) take the per-sequence path.
 */

/* The lane count: LSTM97_LANES_VBYTES bytes of REALs if defined, else the variant's
 * vector width LSTM97_VBYTES when above 32 bytes (AVX-512: 8 doubles, 16 floats), else
 * 32 bytes (4 doubles, 8 floats: in the baseline and AVX2 builds; 64-byte lanes in the
 * AVX2 build cost more instructions and time); at least LSTM97_BATCH_BLOCK.  Always a multiple of LSTM97_BATCH_BLOCK: the
 * lanes of a step are LSTM97_LANES / LSTM97_BATCH_BLOCK whole blocks. */
#if defined(LSTM97_LANES_VBYTES)
#define LSTM97_LANES_VB_ LSTM97_LANES_VBYTES
#elif defined(LSTM97_VBYTES) && LSTM97_VBYTES > 32     /* the variant's vector width */
#define LSTM97_LANES_VB_ LSTM97_VBYTES
#else
#define LSTM97_LANES_VB_ 32
#endif
#undef LSTM97_LANES
#define LSTM97_LANES                                                                    \
    ((ptrdiff_t)(LSTM97_LANES_VB_ / sizeof(REAL) < LSTM97_BATCH_BLOCK                    \
                     ? LSTM97_BATCH_BLOCK                                               \
                     : LSTM97_LANES_VB_ / sizeof(REAL)))
/* the block size up to which W_in's update runs in vectors (above: lane by lane) */
#define LSTM97_LANES_UPDATE_MAX_S 8

#ifndef LSTM97_LANES_COMMON
#define LSTM97_LANES_COMMON 1
/* the lanes path is on unless lstm97_set_batch_lanes(0) (for tests and benchmarks) */
static int lstm97_lanes_on = 1;

/* the nets the lanes step computes: the tuned 1997 cell, without softmax outputs */
static inline int lstm97_lanes_ok(const lstm97_dims *d)
{
    return __atomic_load_n(&lstm97_lanes_on, __ATOMIC_RELAXED) &&
           d->kernel == LSTM97_KERNEL_FAST && !d->forget_gate && !d->peepholes &&
           d->out != LSTM97_OUT_SOFTMAX;
}
#endif

typedef REAL FN(lvec) __attribute__((vector_size(LSTM97_LANES * sizeof(REAL)),
                                     aligned(sizeof(REAL))));
#define LV_(p) (*(const FN(lvec) *)(const void *)(p))
#define LS_(p) (*(FN(lvec) *)(void *)(p))

typedef REAL FN(v4) __attribute__((vector_size(4 * sizeof(REAL)), aligned(sizeof(REAL))));
#define V4_(p) (*(const FN(v4) *)(const void *)(p))
#define V4S_(p) (*(FN(v4) *)(void *)(p))

/* out[i] = f(in[i]) for the nv vectors of lanes at in, f the logistic (f = SQ_G1) or
 * a function of it (SQ_H1: 2 sig - 1, SQ_G2: 4 sig - 2, applied to the REAL value as
 * FN(squash_from_sig) does, in the same pass): lstm97_exp.h's four- or two-lane logistic
 * inlined (the same bits as FN(sig_array); float lanes are widened to double and rounded
 * back, as FN(sig) does).  The loop leaves at the first arguments out of the table's
 * range (large, infinite or NaN) for FN(lanes_sigf_from), which checks every value:
 * without a call inside, the loop keeps the logistic's constants in registers.  in == out
 * allowed (the rest of in is unread when the loop leaves). */
#if defined(__AVX512F__) && defined(LSTM97_HAVE_SIG8) && LSTM97_LANES_VB_ == 64
#define LANES_SIG_W_ 8                /* 64-byte lanes: a multiple of 8 values */
#define LANES_SIG_(v, chk) ((chk) ? lstm97_sig8(v) : lstm97_sig8_inrange(v))
#define LANES_SIG_OK_(v) lstm97_sig8_ok(v)
typedef lstm97_v8d FN(lanes_vd);
#elif defined(__AVX2__) && defined(LSTM97_HAVE_SIG4)
#define LANES_SIG_W_ 4
#define LANES_SIG_(v, chk) ((chk) ? lstm97_sig4(v) : lstm97_sig4_inrange(v))
#define LANES_SIG_OK_(v) lstm97_sig4_ok(v)
typedef lstm97_v4d FN(lanes_vd);
#elif defined(__GNUC__) || defined(__clang__)
#define LANES_SIG_W_ 2
#define LANES_SIG_(v, chk) ((chk) ? lstm97_sig2(v) : lstm97_sig2_inrange(v))
#define LANES_SIG_OK_(v) lstm97_sig2_ok(v)
typedef lstm97_v2d FN(lanes_vd);
#endif
#ifdef LANES_SIG_W_
typedef REAL FN(lanes_vw) __attribute__((vector_size(LANES_SIG_W_ * sizeof(REAL)),
                                         aligned(sizeof(REAL))));
#define LANES_SIG_STEP_(i, v, chk)                                                       \
    do {                                                                                 \
        FN(lanes_vw) r_;                                                                 \
        v = LANES_SIG_(v, chk);                                                          \
        for (int l_ = 0; l_ < LANES_SIG_W_; l_++)                                        \
            r_[l_] = (REAL)v[l_];                                                        \
        if (tr)                                                                          \
            r_ = a * r_ - b;                                                             \
        *(FN(lanes_vw) *)(void *)(out + (i)) = r_;                                       \
    } while (0)
#define LANES_SIG_LOAD_(i, v)                                                            \
    for (int l_ = 0; l_ < LANES_SIG_W_; l_++)                                            \
        v[l_] = (double)in[(i) + l_]

/* FN(lanes_sigf) from in[i0] on, every value checked (out of line: rare) */
__attribute__((noinline, cold)) static void FN(lanes_sigf_from)(int f, ptrdiff_t i0,
                                                               ptrdiff_t n, const REAL *in,
                                                               REAL *out)
{
    const int tr = f == SQ_H1 || f == SQ_G2;
    const REAL a = f == SQ_H1 ? (REAL)2 : (REAL)4, b = f == SQ_H1 ? (REAL)1 : (REAL)2;
    for (ptrdiff_t i = i0; i < n; i += LANES_SIG_W_) {
        FN(lanes_vd) v;
        LANES_SIG_LOAD_(i, v);
        LANES_SIG_STEP_(i, v, 1);
    }
}
#endif

static inline void FN(lanes_sigf)(int f, ptrdiff_t nv, const REAL *in, REAL *out)
{
    const ptrdiff_t n = nv * LSTM97_LANES;      /* a multiple of 4 */
    const int tr = f == SQ_H1 || f == SQ_G2;
    const REAL a = f == SQ_H1 ? (REAL)2 : (REAL)4, b = f == SQ_H1 ? (REAL)1 : (REAL)2;
#ifdef LANES_SIG_W_
    for (ptrdiff_t i = 0; i < n; i += LANES_SIG_W_) {
        FN(lanes_vd) v;
        LANES_SIG_LOAD_(i, v);
        if (__builtin_expect(!LANES_SIG_OK_(v), 0)) {
            FN(lanes_sigf_from)(f, i, n, in, out);
            return;
        }
        LANES_SIG_STEP_(i, v, 0);
    }
#else
    for (ptrdiff_t i = 0; i < n; i++) {
        REAL r = (REAL)lstm97_sig((double)in[i]);
        out[i] = tr ? a * r - b : r;
    }
#endif
}
#undef LANES_SIG_W_
#undef LANES_SIG_
#undef LANES_SIG_OK_
#undef LANES_SIG_STEP_
#undef LANES_SIG_LOAD_

/* p[i] = sig(p[i]) for the nv vectors of lanes at p */
static inline void FN(lanes_sig)(ptrdiff_t nv, REAL *p)
{
    FN(lanes_sigf)(SQ_G1, nv, p, p);
}

/* out = f(in) over nv vectors of lanes: FN(squash_array) with the inlined logistic */
static inline void FN(lanes_squash)(int f, ptrdiff_t nv, const REAL *in, REAL *out)
{
    if (FN(squash_is_sig)(f))
        FN(lanes_sigf)(f, nv, in, out);
    else
        FN(squash_array)(f, nv * LSTM97_LANES, in, out);
}

/* can the lanes step compute this net (and is the lanes path on: lstm97_set_batch_lanes) */
static inline int FN(lanes_ok)(const lstm97_dims *d)
{
    return lstm97_lanes_ok(d);
}

/* f'(x) from v = f(x) on every lane: FN(squash_prime)'s operations.  A macro, not a
 * function: a function returning a vector of 4 doubles changes the ABI without AVX
 * (-Wpsabi); `one` is the caller's vector of ones. */
#define LANES_SQP_(f, v, one)                                                    \
    ((f) == SQ_G1     ? (v) * ((one) - (v))                                      \
     : (f) == SQ_TANH ? (one) - (v) * (v)                                        \
     : (f) == SQ_H1   ? ((one) - (v) * (v)) * (REAL)0.5                          \
     : (f) == SQ_ID   ? (one)                                                    \
                      : ((REAL)4 - (v) * (v)) * (REAL)0.25)

/* out[r] (all lanes) = W[r, :] . v (v: (n, lanes)), r < R, each lane's sum in the order of
 * FN(dot): increasing m for n < LSTM97_DOT_LANES_MIN, else partial sums over m = l
 * (mod 4) combined as (s_0 + s_2) + (s_1 + s_3).  W is either the weights (wstride 1:
 * W[r, m] = W[r * n + m], broadcast to the lanes here) or the weights already broadcast
 * (wstride LSTM97_LANES: LSTM97_LANES copies of W[r, m] at W + (r * n + m) LSTM97_LANES,
 * FN(lanes_bcast)), which saves a broadcast per weight and group.  The products are
 * w * v either way (the same bits). */
#define LANES_W_(w, m)                                                                   \
    (wstride == 1 ? (lvec){0} + (w)[m] : LV_((w) + (m) * LSTM97_LANES))
static inline void FN(lanes_matvec)(const REAL *restrict W, ptrdiff_t wstride,
                                    const REAL *restrict v, ptrdiff_t R, ptrdiff_t n,
                                    REAL *restrict out)
{
    typedef FN(lvec) lvec;
    const ptrdiff_t NL = LSTM97_LANES, rs = n * wstride;   /* a row of W */
    ptrdiff_t r = 0;
    if (n < LSTM97_DOT_LANES_MIN) {
        for (; r + 4 <= R; r += 4) {
            const REAL *w0 = W + r * rs, *w1 = w0 + rs, *w2 = w1 + rs, *w3 = w2 + rs;
            lvec a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (ptrdiff_t m = 0; m < n; m++) {
                lvec vm = LV_(v + m * NL);
                a0 += LANES_W_(w0, m) * vm;
                a1 += LANES_W_(w1, m) * vm;
                a2 += LANES_W_(w2, m) * vm;
                a3 += LANES_W_(w3, m) * vm;
            }
            LS_(out + r * NL) = a0;
            LS_(out + (r + 1) * NL) = a1;
            LS_(out + (r + 2) * NL) = a2;
            LS_(out + (r + 3) * NL) = a3;
        }
        for (; r < R; r++) {
            const REAL *w0 = W + r * rs;
            lvec a0 = {0};
            for (ptrdiff_t m = 0; m < n; m++)
                a0 += LANES_W_(w0, m) * LV_(v + m * NL);
            LS_(out + r * NL) = a0;
        }
        return;
    }
    /* two rows a pass, each vector of v read once for both */
    for (; r + 2 <= R; r += 2) {
        const REAL *w0 = W + r * rs, *w1 = w0 + rs;
        lvec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
        ptrdiff_t m = 0;
        for (; m + 4 <= n; m += 4) {
            lvec v0 = LV_(v + m * NL), v1 = LV_(v + (m + 1) * NL);
            lvec v2 = LV_(v + (m + 2) * NL), v3 = LV_(v + (m + 3) * NL);
            s0 += LANES_W_(w0, m) * v0;
            t0 += LANES_W_(w1, m) * v0;
            s1 += LANES_W_(w0, m + 1) * v1;
            t1 += LANES_W_(w1, m + 1) * v1;
            s2 += LANES_W_(w0, m + 2) * v2;
            t2 += LANES_W_(w1, m + 2) * v2;
            s3 += LANES_W_(w0, m + 3) * v3;
            t3 += LANES_W_(w1, m + 3) * v3;
        }
        if (m < n) {
            lvec vm = LV_(v + m * NL);
            s0 += LANES_W_(w0, m) * vm;
            t0 += LANES_W_(w1, m) * vm;
        }
        if (m + 1 < n) {
            lvec vm = LV_(v + (m + 1) * NL);
            s1 += LANES_W_(w0, m + 1) * vm;
            t1 += LANES_W_(w1, m + 1) * vm;
        }
        if (m + 2 < n) {
            lvec vm = LV_(v + (m + 2) * NL);
            s2 += LANES_W_(w0, m + 2) * vm;
            t2 += LANES_W_(w1, m + 2) * vm;
        }
        LS_(out + r * NL) = (s0 + s2) + (s1 + s3);
        LS_(out + (r + 1) * NL) = (t0 + t2) + (t1 + t3);
    }
    for (; r < R; r++) {
        const REAL *w0 = W + r * rs;
        lvec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
        ptrdiff_t m = 0;
        for (; m + 4 <= n; m += 4) {
            s0 += LANES_W_(w0, m) * LV_(v + m * NL);
            s1 += LANES_W_(w0, m + 1) * LV_(v + (m + 1) * NL);
            s2 += LANES_W_(w0, m + 2) * LV_(v + (m + 2) * NL);
            s3 += LANES_W_(w0, m + 3) * LV_(v + (m + 3) * NL);
        }
        if (m < n)
            s0 += LANES_W_(w0, m) * LV_(v + m * NL);
        if (m + 1 < n)
            s1 += LANES_W_(w0, m + 1) * LV_(v + (m + 1) * NL);
        if (m + 2 < n)
            s2 += LANES_W_(w0, m + 2) * LV_(v + (m + 2) * NL);
        LS_(out + r * NL) = (s0 + s2) + (s1 + s3);
    }
}
#undef LANES_W_

/* The weights broadcast to the lanes for FN(lanes_matvec): wb[i LSTM97_LANES + l] =
 * p[i] for i < P, every lane l.  batch_worker keeps the table on its stack while it fits
 * in LSTM97_LANES_WB_BYTES (FN(lanes_wb_fits)) and refreshes it after every update.
 * Kept small: a larger table crowds the traces out of the L1 cache (the 6b net, 372
 * weights, a target at every step, AVX-512 build: 31.5 us per sequence with a 24 KB
 * table, 29.4 without, in benchmarks/c/bench_lanes.c). */
#define LSTM97_LANES_WB_BYTES 8192
static inline int FN(lanes_wb_fits)(ptrdiff_t P)
{
    return P <= (ptrdiff_t)(LSTM97_LANES_WB_BYTES / (LSTM97_LANES * sizeof(REAL)));
}

static inline void FN(lanes_bcast)(const REAL *restrict p, ptrdiff_t P, REAL *restrict wb)
{
    typedef FN(lvec) lvec;
    for (ptrdiff_t i = 0; i < P; i++)
        LS_(wb + i * LSTM97_LANES) = (lvec){0} + p[i];
}

/* p[m] += (ae_l v[m, l]) mk[m] for m < n, lane l (v: (n, lanes)) */
static inline void FN(lanes_axpy)(ptrdiff_t n, REAL ae, const REAL *restrict v, int l,
                                  REAL *restrict p, const REAL *restrict mk)
{
    for (ptrdiff_t m = 0; m < n; m++)
        p[m] += ae * v[m * LSTM97_LANES + l] * mk[m];
}


/* The weight changes of the ns sources c of the lanes, into the rows of their blocks:
 * for each block q of the lanes (lanes 4q .. 4q + 3, row rows[q]) and m < n,
 *   rows[q][m] += (ae_c,l v_c[m, l]) mk[m]   for each lane l of q with a target (bit l
 *                                             of live), in lane order, and c < ns in order
 * (v_c: (n, lanes), ae_c: one value per lane).  The per-sequence path adds a sequence's
 * whole update before the next sequence's, so each element gets the same additions in
 * the same order.  Four m at a time: a 4 x 4 transpose of v_c's lanes of q makes each
 * lane's four values one vector, multiplied and added as in FN(lanes_axpy).  ns <= 
 * LSTM97_LANES_UPDATE_MAX_S. */
static inline void FN(lanes_update)(ptrdiff_t n, int ns, const REAL *const *ae,
                                    const REAL *const *v, int live, REAL *const *rows,
                                    const REAL *restrict mk)
{
    typedef FN(v4) v4;
    const ptrdiff_t NL = LSTM97_LANES;
    if (ns < 1 || ns > LSTM97_LANES_UPDATE_MAX_S)
        return;
    for (ptrdiff_t q = 0; q < NL / 4; q++) {
        const int lq = live >> (4 * q) & 15;
        if (!lq)
            continue;
        REAL *restrict row = rows[q];
        ptrdiff_t m = 0;
        for (; m + 4 <= n; m += 4) {
            v4 col[LSTM97_LANES_UPDATE_MAX_S][4];
            const v4 mk4 = V4_(mk + m);
            for (int c = 0; c < ns; c++) {
                const REAL *vc = v[c] + m * NL + 4 * q;
                v4 r0 = V4_(vc), r1 = V4_(vc + NL), r2 = V4_(vc + 2 * NL), r3 = V4_(vc + 3 * NL);
                v4 u0 = __builtin_shufflevector(r0, r1, 0, 4, 2, 6);
                v4 u1 = __builtin_shufflevector(r0, r1, 1, 5, 3, 7);
                v4 u2 = __builtin_shufflevector(r2, r3, 0, 4, 2, 6);
                v4 u3 = __builtin_shufflevector(r2, r3, 1, 5, 3, 7);
                const REAL *a = ae[c] + 4 * q;
                col[c][0] = a[0] * __builtin_shufflevector(u0, u2, 0, 1, 4, 5) * mk4;
                col[c][1] = a[1] * __builtin_shufflevector(u1, u3, 0, 1, 4, 5) * mk4;
                col[c][2] = a[2] * __builtin_shufflevector(u0, u2, 2, 3, 6, 7) * mk4;
                col[c][3] = a[3] * __builtin_shufflevector(u1, u3, 2, 3, 6, 7) * mk4;
            }
            v4 acc = V4_(row + m);
            for (int l = 0; l < 4; l++)
                if (lq >> l & 1)
                    for (int c = 0; c < ns; c++)
                        acc = acc + col[c][l];
            V4S_(row + m) = acc;
        }
        for (; m < n; m++) {              /* the last n mod 4 columns */
            v4 pr[LSTM97_LANES_UPDATE_MAX_S];
            for (int c = 0; c < ns; c++)
                pr[c] = V4_(ae[c] + 4 * q) * V4_(v[c] + m * NL + 4 * q) * mk[m];
            REAL acc = row[m];
            for (int l = 0; l < 4; l++)
                if (lq >> l & 1)
                    for (int c = 0; c < ns; c++)
                        acc += pr[c][l];
            row[m] = acc;
        }
    }
}

/* One step of the LSTM97_LANES sequences n0 .. n0 + LSTM97_LANES - 1 of a batch (mode
 * LSTM97_ACCUMULATE, lane l into rows[l / 4], the row of its block): x_t[l], t_t[l]
 * (NULL: no target), y_t[l] of lane l.
 * wb: the parameters broadcast to the lanes (FN(lanes_bcast)), or NULL (read params).
 * Returns LSTM97_OK or LSTM97_ERR_NONFINITE (an output or a cell state of some lane). */
static int FN(step_lanes)(const lstm97_dims *d, const lstm97_layout *L,
                          const REAL *params, const REAL *masks,
                          const REAL *const *x_t, const REAL *const *t_t, REAL alpha,
                          REAL *const *y_t, REAL *state, REAL *work, REAL *const *rows,
                          const REAL *wb)
{
    typedef FN(lvec) lvec;
    const ptrdiff_t NL = LSTM97_LANES;
    const ptrdiff_t I = d->I, K = d->K, B = d->B, S = d->S;
    const ptrdiff_t C = L->C, nz = L->nz, nu = L->nu;
    const int has_out = d->output_gate;
    const REAL *W_k = params + L->W_k;
    const lvec one = (lvec){0} + (REAL)1;

    REAL *z = state;                      /* (nz, lanes) */
    REAL *s = z + nz * NL;                /* (C, lanes) */
    REAL *dS_c = s + C * NL;              /* (C, nz, lanes) */
    REAL *dS_in = dS_c + C * nz * NL;     /* (C, nz, lanes) */
    REAL *y_in = work;                    /* (B, lanes); then y_out, g_c */
    REAL *y_out = y_in + B * NL;
    REAL *g_c = y_out + B * NL;
    REAL *u = g_c + C * NL;               /* (nu, lanes) */
    REAL *h_s = u + nu * NL;
    REAL *y_c = h_s + C * NL;
    REAL *y_k = y_c + C * NL;
    REAL *e_k = y_k + K * NL;
    REAL *back_c = e_k + K * NL;
    REAL *e_s = back_c + C * NL;
    REAL *e_out = e_s + C * NL;           /* (B, lanes) */

    /* z(t) = [1, x(t), recurrent part already in place] */
    LS_(z) = one;
    for (ptrdiff_t i = 0; i < I; i++)
        for (ptrdiff_t l = 0; l < NL; l++)
            z[(1 + i) * NL + l] = x_t[l][i];

    /* net inputs of the gates and cells: rows W_in, W_out, W_c (from the broadcast
       weights wb when given) */
    const REAL *W = wb ? wb : params;
    const ptrdiff_t ws = wb ? NL : 1;
    if (has_out) {
        FN(lanes_matvec)(W + L->W_in * ws, ws, z, 2 * B + C, nz, y_in);
    } else {
        FN(lanes_matvec)(W + L->W_in * ws, ws, z, B, nz, y_in);
        FN(lanes_matvec)(W + L->W_c * ws, ws, z, C, nz, g_c);
    }
    const int f_g = FN(g_squash)(d->g);
    if (has_out && FN(squash_is_sig)(f_g)) {
        FN(lanes_sig)(2 * B, y_in);             /* the gates, then the cells' g */
        FN(lanes_sigf)(f_g, C, g_c, g_c);
    } else {
        FN(lanes_sig)((has_out ? 2 : 1) * B, y_in);
        if (!has_out)
            for (ptrdiff_t j = 0; j < B; j++)
                LS_(y_out + j * NL) = one;
        FN(lanes_squash)(f_g, C, g_c, g_c);
    }
    /* the CEC: s_c += y_in_j g(net_c) */
    for (ptrdiff_t j = 0, c = 0; j < B; j++)
        for (ptrdiff_t q = 0; q < S; q++, c++)
            LS_(s + c * NL) = LV_(s + c * NL) + LV_(y_in + j * NL) * LV_(g_c + c * NL);
    FN(lanes_squash)(FN(h_squash)(d->h), C, s, h_s);
    LS_(u) = one;
    for (ptrdiff_t i = 0; i < I; i++)
        LS_(u + (1 + i) * NL) = LV_(z + (1 + i) * NL);
    for (ptrdiff_t j = 0, c = 0; j < B; j++)
        for (ptrdiff_t q = 0; q < S; q++, c++) {
            lvec yc = LV_(y_out + j * NL) * LV_(h_s + c * NL);
            LS_(y_c + c * NL) = yc;
            LS_(u + (1 + I + c) * NL) = yc;
        }
    FN(lanes_matvec)(W + L->W_k * ws, ws, u, K, nu, y_k);
    if (d->out == LSTM97_OUT_LOGISTIC)
        FN(lanes_sig)(K, y_k);
    /* x * 0 is +-0 for finite x, NaN for an infinity or a NaN: one NaN lane in the sum
       is a non-finite output or cell state */
    lvec nf = {0};
    for (ptrdiff_t k = 0; k < K; k++) {
        lvec yk = LV_(y_k + k * NL);
        nf += yk * (REAL)0;
        for (ptrdiff_t l = 0; l < NL; l++)
            y_t[l][k] = yk[l];
    }
    for (ptrdiff_t c = 0; c < C; c++)
        nf += LV_(s + c * NL) * (REAL)0;
    /* the lanes' sum: +-0, or NaN when some lane is */
    REAL nfs = nf[0];
    for (ptrdiff_t l = 1; l < NL; l++)
        nfs += nf[l];
    const int finite = nfs == 0;

    /* errors (eqs. 19, 21, 23) on every lane; lanes without a target get t = y */
    int live = 0;
    for (ptrdiff_t l = 0; l < NL; l++)
        live |= (t_t[l] != NULL) << l;
    if (live) {
        for (ptrdiff_t k = 0; k < K; k++) {
            lvec yk = LV_(y_k + k * NL), tk;
            for (ptrdiff_t l = 0; l < NL; l++)
                tk[l] = t_t[l] ? t_t[l][k] : yk[l];
            lvec fp = d->out == LSTM97_OUT_LINEAR ? one : yk * (one - yk);
            LS_(e_k + k * NL) = fp * (tk - yk);
        }
        for (ptrdiff_t c = 0; c < C; c++)
            LS_(back_c + c * NL) = (lvec){0};
        for (ptrdiff_t k = 0; k < K; k++) {
            const REAL *wk = W_k + k * nu + 1 + I;
            lvec ek = LV_(e_k + k * NL);
            for (ptrdiff_t c = 0; c < C; c++)
                LS_(back_c + c * NL) = LV_(back_c + c * NL) + wk[c] * ek;
        }
        const int f_h = FN(h_squash)(d->h);
        for (ptrdiff_t j = 0; j < B; j++) {
            lvec acc = {0}, yo = LV_(y_out + j * NL);
            for (ptrdiff_t c = j * S; c < (j + 1) * S; c++) {
                lvec hs = LV_(h_s + c * NL), bc = LV_(back_c + c * NL);
                acc += hs * bc;
                LS_(e_s + c * NL) = yo * LANES_SQP_(f_h, hs, one) * bc;
            }
            LS_(e_out + j * NL) = yo * (one - yo) * acc;
        }
    }

    /* traces (eqs. 27, 25) on every lane: two cells a pass over z, each vector of z read
       once for both */
    const int f_gp = FN(g_squash)(d->g);
#define LANES_TR_AB_(c, a, b)                                                           \
    do {                                                                                \
        lvec yi_ = LV_(y_in + ((c) / S) * NL), gc_ = LV_(g_c + (c) * NL);               \
        a = LANES_SQP_(f_gp, gc_, one) * yi_;                                           \
        b = gc_ * (yi_ * (one - yi_));                                                  \
    } while (0)
    ptrdiff_t c2 = 0;
    for (; c2 + 2 <= C; c2 += 2) {
        lvec a0, b0, a1, b1;
        LANES_TR_AB_(c2, a0, b0);
        LANES_TR_AB_(c2 + 1, a1, b1);
        REAL *restrict dc0 = dS_c + c2 * nz * NL, *restrict di0 = dS_in + c2 * nz * NL;
        REAL *restrict dc1 = dc0 + nz * NL, *restrict di1 = di0 + nz * NL;
#pragma GCC unroll 2
        for (ptrdiff_t m = 0; m < nz; m++) {
            lvec zm = LV_(z + m * NL);
            LS_(dc0 + m * NL) = LV_(dc0 + m * NL) + a0 * zm;
            LS_(di0 + m * NL) = LV_(di0 + m * NL) + b0 * zm;
            LS_(dc1 + m * NL) = LV_(dc1 + m * NL) + a1 * zm;
            LS_(di1 + m * NL) = LV_(di1 + m * NL) + b1 * zm;
        }
    }
    if (c2 < C) {
        lvec a0, b0;
        LANES_TR_AB_(c2, a0, b0);
        REAL *restrict dc0 = dS_c + c2 * nz * NL, *restrict di0 = dS_in + c2 * nz * NL;
        for (ptrdiff_t m = 0; m < nz; m++) {
            lvec zm = LV_(z + m * NL);
            LS_(dc0 + m * NL) = LV_(dc0 + m * NL) + a0 * zm;
            LS_(di0 + m * NL) = LV_(di0 + m * NL) + b0 * zm;
        }
    }
#undef LANES_TR_AB_

    /* the updates of the lanes with a target: W_k, W_out (eq. 22), W_c (eq. 28) and
       W_in (eq. 26) with the new traces; each element gets the additions of the
       per-sequence path in its order (FN(lanes_update)) */
    if (live) {
        REAL *ae = e_k;                   /* alpha e, in place: e_k, e_out, e_s are dead */
        for (ptrdiff_t i = 0; i < K * NL; i++)
            ae[i] *= alpha;
        REAL *ae_out = e_out, *ae_s = e_s;
        for (ptrdiff_t i = 0; i < B * NL; i++)
            ae_out[i] *= alpha;
        for (ptrdiff_t i = 0; i < C * NL; i++)
            ae_s[i] *= alpha;
        REAL *r[LSTM97_LANES / LSTM97_BATCH_BLOCK];
        const REAL *aa[LSTM97_LANES_UPDATE_MAX_S], *vv[LSTM97_LANES_UPDATE_MAX_S];
        const ptrdiff_t NB = NL / 4;
#define LANES_ROWS_(off) for (ptrdiff_t qq = 0; qq < NB; qq++) r[qq] = rows[qq] + (off)
        for (ptrdiff_t k = 0; k < K; k++) {
            LANES_ROWS_(L->W_k + k * nu);
            aa[0] = ae + k * NL;
            vv[0] = u;
            FN(lanes_update)(nu, 1, aa, vv, live, r, masks + L->W_k + k * nu);
        }
        for (ptrdiff_t j = 0; has_out && j < B; j++) {
            LANES_ROWS_(L->W_out + j * nz);
            aa[0] = ae_out + j * NL;
            vv[0] = z;
            FN(lanes_update)(nz, 1, aa, vv, live, r, masks + L->W_out + j * nz);
        }
        for (ptrdiff_t c = 0; c < C; c++) {
            LANES_ROWS_(L->W_c + c * nz);
            aa[0] = ae_s + c * NL;
            vv[0] = dS_c + c * nz * NL;
            FN(lanes_update)(nz, 1, aa, vv, live, r, masks + L->W_c + c * nz);
        }
        for (ptrdiff_t j = 0; j < B; j++) {
            LANES_ROWS_(L->W_in + j * nz);
            if (S <= LSTM97_LANES_UPDATE_MAX_S) {
                for (ptrdiff_t q = 0; q < S; q++) {
                    aa[q] = ae_s + (j * S + q) * NL;
                    vv[q] = dS_in + (j * S + q) * nz * NL;
                }
                FN(lanes_update)(nz, (int)S, aa, vv, live, r, masks + L->W_in + j * nz);
                continue;
            }
            for (ptrdiff_t l = 0; l < NL; l++)     /* large blocks: lane by lane */
                for (ptrdiff_t c = j * S; live >> l & 1 && c < (j + 1) * S; c++)
                    FN(lanes_axpy)(nz, ae_s[c * NL + l], dS_in + c * nz * NL, (int)l,
                                   r[l / 4], masks + L->W_in + j * nz);
        }
#undef LANES_ROWS_
    }

    /* recurrent part of z(t+1) */
    for (ptrdiff_t c = 0; c < C; c++)
        LS_(z + (1 + I + c) * NL) = LV_(y_c + c * NL);
    if (d->sources == LSTM97_SOURCES_FULL)
        for (ptrdiff_t j = 0; j < B; j++) {
            LS_(z + (1 + I + C + j) * NL) = LV_(y_in + j * NL);
            if (has_out)
                LS_(z + (1 + I + C + B + j) * NL) = LV_(y_out + j * NL);
        }
    return finite ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}
#undef LV_
#undef LS_
#undef V4_
#undef V4S_
#undef LANES_SQP_
