/*
 * lstm97_lanes.h -- one step of a block of LSTM97_LANES sequences of lstm97_train_batch,
 * the sequences in the lanes of vector registers (structure of arrays).
 *
 * Included by lstm97_batch.h (part of lstm97_impl.h) once per REAL and instruction set
 * (FN, REAL as there).
 *
 * lstm97_train_batch runs its sequences in fixed blocks of LSTM97_BATCH_BLOCK (4), each
 * adding its updates into the dW row of its block.  A full block (4 sequences) runs here
 * in one pass: every per-sequence quantity is stored as LSTM97_LANES consecutive values,
 * one per sequence, so that a vector of 4 REALs holds the value of every sequence of the
 * block.  The weights are shared by the lanes: the forward mat-vecs become one small
 * matrix product (a weight is broadcast, the 4 lanes of z multiply it), and the traces,
 * activations and errors are updated for the 4 sequences in each vector operation.
 *
 * Each lane does the operations of step_fast/step_naive for its sequence in the same
 * order (the sums of FN(dot) included; the build fuses no multiply-add; a weight change
 * is always multiplied by its mask, exact where the tuned step skips a mask of ones), and
 * the updates of the block's sequences are added into the block's dW row sequence after
 * sequence, as the per-sequence path does.  So the result is bitwise that of the
 * per-sequence path, and bitwise the same for every thread count
 * (tests/test_batch_lanes.py checks it against the plain kernel and against the tuned
 * one with the lanes path off: lstm97_set_batch_lanes).
 *
 * The lane layout of a block uses the block's own rows of the state and work buffers of
 * lstm97_train_batch (4 state_len and 4 work_len values, contiguous), read and written
 * only by the thread that owns the block:
 *   state: z (nz, 4), s (C, 4), dS_c (C, nz, 4), dS_in (C, nz, 4)    = 4 state_len
 *   work:  net = [y_in (B, 4), y_out (B, 4), g_c (C, 4)], u (nu, 4), h_s (C, 4),
 *          y_c (C, 4), y_k (K, 4), e_k (K, 4), back_c (C, 4), e_s (C, 4), e_out (B, 4)
 *                                                                    <= 4 work_len
 * Cells it computes: the 1997 cell with or without output gates, either source set,
 * every g and h, logistic or linear outputs.  Forget gates, peepholes, softmax outputs
 * and the plain kernel (dims.kernel = LSTM97_KERNEL_NAIVE) take the per-sequence path.
 */

#define LSTM97_LANES 4

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

/* p[i] = sig(p[i]) for the nv vectors of 4 lanes at p: lstm97_exp.h's four- or two-lane
 * logistic inlined (the same bits as FN(sig_array); float lanes are widened to double
 * and rounded back, as FN(sig) does) */
static inline void FN(lanes_sig)(ptrdiff_t nv, REAL *p)
{
    for (ptrdiff_t i = 0; i < nv; i++) {
        REAL *q = p + i * LSTM97_LANES;
#if defined(__AVX2__) && defined(LSTM97_HAVE_SIG4)
        lstm97_v4d v = {(double)q[0], (double)q[1], (double)q[2], (double)q[3]};
        v = lstm97_sig4(v);
        for (int l = 0; l < 4; l++)
            q[l] = (REAL)v[l];
#elif defined(__GNUC__) || defined(__clang__)
        lstm97_v2d v0 = {(double)q[0], (double)q[1]}, v1 = {(double)q[2], (double)q[3]};
        v0 = lstm97_sig2(v0);
        v1 = lstm97_sig2(v1);
        q[0] = (REAL)v0[0];
        q[1] = (REAL)v0[1];
        q[2] = (REAL)v1[0];
        q[3] = (REAL)v1[1];
#else
        for (int l = 0; l < 4; l++)
            q[l] = (REAL)lstm97_sig((double)q[l]);
#endif
    }
}

/* p[i] = f(p[i]) over nv vectors of lanes: FN(squash_array) with the inlined logistic */
static inline void FN(lanes_squash)(int f, ptrdiff_t nv, const REAL *in, REAL *out)
{
    if (FN(squash_is_sig)(f)) {
        if (out != in)
            memcpy(out, in, (size_t)(nv * LSTM97_LANES) * sizeof(REAL));
        FN(lanes_sig)(nv, out);
        FN(squash_from_sig)(f, nv * LSTM97_LANES, out);
    } else {
        FN(squash_array)(f, nv * LSTM97_LANES, in, out);
    }
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

/* out[r] (4 lanes) = W[r, :] . v (v: (n, 4)), r < R, each lane's sum in the order of
 * FN(dot): increasing m for n < LSTM97_DOT_LANES_MIN, else partial sums over m = l
 * (mod 4) combined as (s_0 + s_2) + (s_1 + s_3). */
static inline void FN(lanes_matvec)(const REAL *restrict W, const REAL *restrict v,
                                    ptrdiff_t R, ptrdiff_t n, REAL *restrict out)
{
    typedef FN(lvec) lvec;
    const ptrdiff_t NL = LSTM97_LANES;
    ptrdiff_t r = 0;
    if (n < LSTM97_DOT_LANES_MIN) {
        for (; r + 4 <= R; r += 4) {
            const REAL *w0 = W + r * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
            lvec a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (ptrdiff_t m = 0; m < n; m++) {
                lvec vm = LV_(v + m * NL);
                a0 += w0[m] * vm;
                a1 += w1[m] * vm;
                a2 += w2[m] * vm;
                a3 += w3[m] * vm;
            }
            LS_(out + r * NL) = a0;
            LS_(out + (r + 1) * NL) = a1;
            LS_(out + (r + 2) * NL) = a2;
            LS_(out + (r + 3) * NL) = a3;
        }
        for (; r < R; r++) {
            const REAL *w0 = W + r * n;
            lvec a0 = {0};
            for (ptrdiff_t m = 0; m < n; m++)
                a0 += w0[m] * LV_(v + m * NL);
            LS_(out + r * NL) = a0;
        }
        return;
    }
    for (; r < R; r++) {
        const REAL *w0 = W + r * n;
        lvec s[4] = {{0}, {0}, {0}, {0}};
        ptrdiff_t m = 0;
        for (; m + 4 <= n; m += 4) {
            s[0] += w0[m] * LV_(v + m * NL);
            s[1] += w0[m + 1] * LV_(v + (m + 1) * NL);
            s[2] += w0[m + 2] * LV_(v + (m + 2) * NL);
            s[3] += w0[m + 3] * LV_(v + (m + 3) * NL);
        }
        for (int l = 0; m < n; m++, l++)
            s[l] += w0[m] * LV_(v + m * NL);
        LS_(out + r * NL) = (s[0] + s[2]) + (s[1] + s[3]);
    }
}

/* p[m] += (ae_l v[m, l]) mk[m] for m < n, lane l (v: (n, 4)) */
static inline void FN(lanes_axpy)(ptrdiff_t n, REAL ae, const REAL *restrict v, int l,
                                  REAL *restrict p, const REAL *restrict mk)
{
    for (ptrdiff_t m = 0; m < n; m++)
        p[m] += ae * v[m * LSTM97_LANES + l] * mk[m];
}

/* One step of the LSTM97_LANES sequences n0 .. n0 + 3 of a batch (mode
 * LSTM97_ACCUMULATE into `row`): x_t[l], t_t[l] (NULL: no target), y_t[l] of lane l.
 * Returns LSTM97_OK or LSTM97_ERR_NONFINITE (an output or a cell state of some lane). */
static int FN(step_lanes)(const lstm97_dims *d, const lstm97_layout *L,
                          const REAL *params, const REAL *masks,
                          const REAL *const *x_t, const REAL *const *t_t, REAL alpha,
                          REAL *const *y_t, REAL *state, REAL *work, REAL *row)
{
    typedef FN(lvec) lvec;
    const ptrdiff_t NL = LSTM97_LANES;
    const ptrdiff_t I = d->I, K = d->K, B = d->B, S = d->S;
    const ptrdiff_t C = L->C, nz = L->nz, nu = L->nu;
    const int has_out = d->output_gate;
    const REAL *W_k = params + L->W_k;
    const lvec one = (lvec){0} + (REAL)1;

    REAL *z = state;                      /* (nz, 4) */
    REAL *s = z + nz * NL;                /* (C, 4) */
    REAL *dS_c = s + C * NL;              /* (C, nz, 4) */
    REAL *dS_in = dS_c + C * nz * NL;     /* (C, nz, 4) */
    REAL *y_in = work;                    /* (B, 4); then y_out (B, 4), g_c (C, 4) */
    REAL *y_out = y_in + B * NL;
    REAL *g_c = y_out + B * NL;
    REAL *u = g_c + C * NL;               /* (nu, 4) */
    REAL *h_s = u + nu * NL;
    REAL *y_c = h_s + C * NL;
    REAL *y_k = y_c + C * NL;
    REAL *e_k = y_k + K * NL;
    REAL *back_c = e_k + K * NL;
    REAL *e_s = back_c + C * NL;
    REAL *e_out = e_s + C * NL;           /* (B, 4) */

    /* z(t) = [1, x(t), recurrent part already in place] */
    LS_(z) = one;
    for (ptrdiff_t i = 0; i < I; i++)
        for (ptrdiff_t l = 0; l < NL; l++)
            z[(1 + i) * NL + l] = x_t[l][i];

    /* net inputs of the gates and cells: rows W_in, W_out, W_c */
    if (has_out) {
        FN(lanes_matvec)(params + L->W_in, z, 2 * B + C, nz, y_in);
    } else {
        FN(lanes_matvec)(params + L->W_in, z, B, nz, y_in);
        FN(lanes_matvec)(params + L->W_c, z, C, nz, g_c);
    }
    const int f_g = FN(g_squash)(d->g);
    if (has_out && FN(squash_is_sig)(f_g)) {
        FN(lanes_sig)(2 * B + C, y_in);
        FN(squash_from_sig)(f_g, C * NL, g_c);
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
    FN(lanes_matvec)(W_k, u, K, nu, y_k);
    if (d->out == LSTM97_OUT_LOGISTIC)
        FN(lanes_sig)(K, y_k);
    int finite = 1;
    for (ptrdiff_t k = 0; k < K; k++)
        for (ptrdiff_t l = 0; l < NL; l++) {
            y_t[l][k] = y_k[k * NL + l];
            finite &= isfinite(y_k[k * NL + l]) != 0;
        }
    for (ptrdiff_t c = 0; c < C * NL; c++)
        finite &= isfinite(s[c]) != 0;

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

    /* traces (eqs. 27, 25) on every lane */
    const int f_gp = FN(g_squash)(d->g);
    for (ptrdiff_t j = 0, c = 0; j < B; j++) {
        lvec yi = LV_(y_in + j * NL);
        lvec fin = yi * (one - yi);
        for (ptrdiff_t q = 0; q < S; q++, c++) {
            lvec gc = LV_(g_c + c * NL);
            lvec a = LANES_SQP_(f_gp, gc, one) * yi;
            lvec b = gc * fin;
            REAL *restrict dc = dS_c + c * nz * NL;
            REAL *restrict di = dS_in + c * nz * NL;
            for (ptrdiff_t m = 0; m < nz; m++) {
                lvec zm = LV_(z + m * NL);
                LS_(dc + m * NL) = LV_(dc + m * NL) + a * zm;
                LS_(di + m * NL) = LV_(di + m * NL) + b * zm;
            }
        }
    }

    /* the updates of the lanes with a target, lane after lane, each in the order of the
       per-sequence path: W_k, W_out (eq. 22), then W_c (eq. 28) and W_in (eq. 26) with
       the new traces */
    for (ptrdiff_t l = 0; l < NL; l++) {
        if (!(live >> l & 1))
            continue;
        for (ptrdiff_t k = 0; k < K; k++)
            FN(lanes_axpy)(nu, alpha * e_k[k * NL + l], u, (int)l, row + L->W_k + k * nu,
                           masks + L->W_k + k * nu);
        for (ptrdiff_t j = 0; has_out && j < B; j++)
            FN(lanes_axpy)(nz, alpha * e_out[j * NL + l], z, (int)l, row + L->W_out + j * nz,
                           masks + L->W_out + j * nz);
        for (ptrdiff_t j = 0, c = 0; j < B; j++)
            for (ptrdiff_t q = 0; q < S; q++, c++) {
                REAL ae = alpha * e_s[c * NL + l];
                FN(lanes_axpy)(nz, ae, dS_c + c * nz * NL, (int)l, row + L->W_c + c * nz,
                               masks + L->W_c + c * nz);
                FN(lanes_axpy)(nz, ae, dS_in + c * nz * NL, (int)l, row + L->W_in + j * nz,
                               masks + L->W_in + j * nz);
            }
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
#undef LANES_SQP_
