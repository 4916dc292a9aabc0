/*
 * lstm97_step_tuned.h -- one time step, tuned (step_fast), for one REAL (FN(x) names).
 *
 * The arithmetic of the plain step (lstm97_step_plain.h; "The forward step" and "The
 * truncated gradient, computed forward in time" in docs/model.md: eqs. 19 and 21-28) in
 * the same order for every sum, reorganised: a blocked mat-vec for the net inputs, vector
 * loops that fuse the trace update (eqs. 25, 27) with the weight changes (eqs. 26, 28),
 * and loops over the nonzero inputs only for sparse (one-hot) inputs.  The forget gate
 * (y_phi, net_phi, the trace dS_phi and dW_phi) and the peepholes (P_in, P_phi, P_out and
 * their traces) of "The LSTM family" in docs/model.md are branches of the same step,
 * compiled away in the variant for the 1997 cell (step_fast_cell97).  Within one call
 * of the sequence loop, the 1997 cell's step with a target also computes the next step's
 * net inputs while it updates the rows W_out, W_c, W_in (update_dot,
 * step_fast_cell97_fused: one pass over those parameters per step instead of two).  Part
 * of lstm97_impl.h: no include guard.
 */

#define NL_ ((ptrdiff_t)(LSTM97_VBYTES / sizeof(REAL)))   /* lanes per vreg */
/* lanes per register of the mat-vec: at most the 4 partial sums of the dot order */
#define NM_ ((int)(LSTM97_VBYTES / sizeof(REAL) < 4 ? LSTM97_VBYTES / sizeof(REAL) : 4))
typedef REAL FN(mreg) __attribute__((vector_size(NM_ * sizeof(REAL)), aligned(sizeof(REAL))));

/* MATVEC_OPT_: in the float32 kernels (LSTM97_STEP_VERY_CHEAP) the mat-vec, like the step,
 * under the auto-vectoriser's "very cheap" model.  Under the default model GCC vectorised
 * the short rows' loop across the four rows in flight: one 32-byte load of v (z or u,
 * whose values the step has just stored one float at a time, so the load waits for the
 * stores instead of taking their values from the store buffer) and about 70 shuffles to
 * bring the four rows' products into lanes.  The same instruction count, but 4 us per
 * sequence of the adding net slower than scalar code on the clock (bench_step, 23.2 ->
 * 19.3 us, AVX2 build), the same bits (each sum in the same order). */
#ifdef LSTM97_STEP_VERY_CHEAP
#define MATVEC_OPT_ __attribute__((optimize("vect-cost-model=very-cheap")))
#else
#define MATVEC_OPT_
#endif
/* out[r] = W[r, :] . v for r < R, each sum in the order of FN(dot): four rows at a time;
 * the four partial sums of a row are lanes of 4 / NM_ vector registers (lane l of
 * register k holds s_{k NM_ + l}).  The last n mod 4 columns go to the scalar sums. */
static inline MATVEC_OPT_ void FN(matvec)(const REAL *restrict W, const REAL *restrict v,
                              ptrdiff_t R, ptrdiff_t n, REAL *restrict out)
{
    typedef FN(mreg) vreg;
    const ptrdiff_t n4 = n & ~(ptrdiff_t)3;
    ptrdiff_t r = 0;
    if (n < LSTM97_DOT_LANES_MIN) {
        /* short rows: one sum per row in increasing m, four rows in flight */
        for (; r + 4 <= R; r += 4) {
            const REAL *w0 = W + r * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
            REAL a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (ptrdiff_t m = 0; m < n; m++) {
                REAL vm = v[m];
                a0 += w0[m] * vm;
                a1 += w1[m] * vm;
                a2 += w2[m] * vm;
                a3 += w3[m] * vm;
            }
            out[r] = a0;
            out[r + 1] = a1;
            out[r + 2] = a2;
            out[r + 3] = a3;
        }
        for (; r < R; r++)
            out[r] = FN(dot)(W + r * n, v, n);
        return;
    }
    for (; r + 4 <= R; r += 4) {
        const REAL *w[4] = {W + r * n, W + (r + 1) * n, W + (r + 2) * n, W + (r + 3) * n};
        vreg a[4][4 / NM_];
        for (int q = 0; q < 4; q++)
            for (int k = 0; k < 4 / NM_; k++)
                a[q][k] = (vreg){0};
        for (ptrdiff_t m = 0; m < n4; m += 4) {
            for (int k = 0; k < 4 / NM_; k++) {
                vreg vm = *(const vreg *)(v + m + k * NM_);
                for (int q = 0; q < 4; q++)
                    a[q][k] += *(const vreg *)(w[q] + m + k * NM_) * vm;
            }
        }
        /* the four sums of each row as scalars, not an array: GCC kept a REAL s4[4] of
           float in two 64-bit integer registers, each sum's last additions going through
           shifts, ors and moves between register files */
        const ptrdiff_t tl = n - n4;                      /* < 4 */
        for (int q = 0; q < 4; q++) {
            REAL s0 = a[q][0 / NM_][0 % NM_], s1 = a[q][1 / NM_][1 % NM_],
                 s2 = a[q][2 / NM_][2 % NM_], s3 = a[q][3 / NM_][3 % NM_];
            if (tl > 0)
                s0 += w[q][n4] * v[n4];
            if (tl > 1)
                s1 += w[q][n4 + 1] * v[n4 + 1];
            if (tl > 2)
                s2 += w[q][n4 + 2] * v[n4 + 2];
            out[r + q] = (s0 + s2) + (s1 + s3);
        }
    }
    for (; r < R; r++)
        out[r] = FN(dot)(W + r * n, v, n);
}
#undef MATVEC_OPT_
/* The inner loops of the trace pass and of the updates, element by element the same
 * operations as the plain kernel's loops, the lanes spelled out in vector registers (so
 * that they do not depend on the compiler's auto-vectoriser, which the build keeps to its
 * "very cheap" model: its prologues and epilogues cost more than they save on the short
 * rows of the paper's nets).  dc, di: trace rows of dS_c[c] and dS_in[c]; pc, pi: the
 * rows of W_c[c] and W_in[block(c)] in P (params or dW); mc, mi: their mask rows. */
/* VL_/VS_: load/store a vector of type V at p.  VLOOPS_(BODY) runs BODY(V) over the
 * columns m: first NL_ at a time in FN(vreg), then what is left in ever narrower vectors,
 * each used at most once: 32 bytes (FN(hreg), in the 64-byte build), 16 bytes (FN(sreg),
 * in the 32- and 64-byte builds) and, for float, 8 bytes (FN(qreg), two lanes), so that
 * the scalar remainder after it is at most one value (float32 rows of nz = 11 in the
 * AVX2 build: 8 + 2 + 1 instead of 8 + 3 scalar), which the caller's `if (m < n)`
 * finishes.  Element by element the same operations in every width: the same bits. */
typedef REAL FN(hreg) __attribute__((vector_size(32), aligned(sizeof(REAL))));
typedef REAL FN(sreg) __attribute__((vector_size(16), aligned(sizeof(REAL))));
typedef REAL FN(qreg) __attribute__((vector_size(8), aligned(sizeof(REAL))));
#define NH_ ((ptrdiff_t)(32 / sizeof(REAL)))
#define NS_ ((ptrdiff_t)(16 / sizeof(REAL)))
#define NQ_ ((ptrdiff_t)(8 / sizeof(REAL)))
#define VL_(V, p) (*(const V *)(const void *)(p))
#define VS_(V, p) (*(V *)(void *)(p))
#define VB_(V, x) ((V){0} + (x))
#define VLOOPS_(BODY)                                                                      \
    for (; m + NL_ <= n; m += NL_)                                                         \
        BODY(FN(vreg), NL_)                                                                \
    if (NL_ > NH_ && m + NH_ <= n) {                                                       \
        BODY(FN(hreg), NH_)                                                                \
        m += NH_;                                                                          \
    }                                                                                      \
    if (NL_ > NS_ && m + NS_ <= n) {                                                       \
        BODY(FN(sreg), NS_)                                                                \
        m += NS_;                                                                          \
    }                                                                                      \
    if (NS_ > NQ_ && NQ_ > 1 && m + NQ_ <= n) {                                            \
        BODY(FN(qreg), NQ_)                                                                \
        m += NQ_;                                                                          \
    }

static inline void FN(traces_only)(ptrdiff_t n, REAL a, REAL b, const REAL *restrict z,
                                   REAL *restrict dc, REAL *restrict di)
{
    ptrdiff_t m = 0;
#define BODY_(V, W)                                                                        \
    {                                                                                      \
        V zm = VL_(V, z + m);                                                              \
        VS_(V, dc + m) = VL_(V, dc + m) + VB_(V, a) * zm;                                  \
        VS_(V, di + m) = VL_(V, di + m) + VB_(V, b) * zm;                                  \
    }
    VLOOPS_(BODY_)
#undef BODY_
    if (m < n) {                 /* at most one value left (VLOOPS_) */
        dc[m] += a * z[m];
        di[m] += b * z[m];
    }
}

/* traces_only for cells c and c + 1 (rows dc, dc + n and di, di + n) in one pass over z */
static inline void FN(traces_only2)(ptrdiff_t n, REAL a0, REAL b0, REAL a1, REAL b1,
                                    const REAL *restrict z, REAL *restrict dc,
                                    REAL *restrict di)
{
    REAL *restrict dc1 = dc + n, *restrict di1 = di + n;
    ptrdiff_t m = 0;
#define BODY_(V, W)                                                                        \
    {                                                                                      \
        V zm = VL_(V, z + m);                                                              \
        VS_(V, dc + m) = VL_(V, dc + m) + VB_(V, a0) * zm;                                 \
        VS_(V, di + m) = VL_(V, di + m) + VB_(V, b0) * zm;                                 \
        VS_(V, dc1 + m) = VL_(V, dc1 + m) + VB_(V, a1) * zm;                               \
        VS_(V, di1 + m) = VL_(V, di1 + m) + VB_(V, b1) * zm;                               \
    }
    VLOOPS_(BODY_)
#undef BODY_
    if (m < n) {                 /* at most one value left (VLOOPS_) */
        dc[m] += a0 * z[m];
        di[m] += b0 * z[m];
        dc1[m] += a1 * z[m];
        di1[m] += b1 * z[m];
    }
}

/* traces_update(_masked): the trace update fused with the updates of W_c and W_in; with
 * `masked` (a constant after inlining) the updates are multiplied by the mask rows.
 * always_inline: with the fused step variant beside it, GCC no longer inlined it into the
 * float32 AVX2 step (adding net: 2,442 -> 2,558 instructions per step). */
static inline __attribute__((always_inline)) void FN(traces_update_impl)(
    ptrdiff_t n, REAL a, REAL b, REAL ae, const REAL *restrict z, REAL *restrict dc,
    REAL *restrict di, REAL *restrict pc, REAL *restrict pi, const REAL *restrict mc,
    const REAL *restrict mi, const int masked)
{
    ptrdiff_t m = 0;
#define BODY_(V, W)                                                                        \
    {                                                                                      \
        V zm = VL_(V, z + m);                                                              \
        V tc = VL_(V, dc + m) + VB_(V, a) * zm;                                            \
        V ti = VL_(V, di + m) + VB_(V, b) * zm;                                            \
        VS_(V, dc + m) = tc;                                                               \
        VS_(V, di + m) = ti;                                                               \
        VS_(V, pc + m) = VL_(V, pc + m) +                                                  \
                         (masked ? VB_(V, ae) * tc * VL_(V, mc + m) : VB_(V, ae) * tc);    \
        VS_(V, pi + m) = VL_(V, pi + m) +                                                  \
                         (masked ? VB_(V, ae) * ti * VL_(V, mi + m) : VB_(V, ae) * ti);    \
    }
    VLOOPS_(BODY_)
#undef BODY_
    if (m < n) {                 /* at most one value left (VLOOPS_) */
        REAL tc = dc[m] + a * z[m];
        REAL ti = di[m] + b * z[m];
        dc[m] = tc;
        di[m] = ti;
        pc[m] += masked ? ae * tc * mc[m] : ae * tc;
        pi[m] += masked ? ae * ti * mi[m] : ae * ti;
    }
}

static inline __attribute__((always_inline)) void FN(traces_update)(
    ptrdiff_t n, REAL a, REAL b, REAL ae, const REAL *restrict z, REAL *restrict dc,
    REAL *restrict di, REAL *restrict pc, REAL *restrict pi)
{
    FN(traces_update_impl)(n, a, b, ae, z, dc, di, pc, pi, NULL, NULL, 0);
}

static inline __attribute__((always_inline)) void FN(traces_update_masked)(
    ptrdiff_t n, REAL a, REAL b, REAL ae, const REAL *restrict z, REAL *restrict dc,
    REAL *restrict di, REAL *restrict pc, REAL *restrict pi, const REAL *restrict mc,
    const REAL *restrict mi)
{
    FN(traces_update_impl)(n, a, b, ae, z, dc, di, pc, pi, mc, mi, 1);
}

/* p += ae * v (optionally masked) */
static inline void FN(axpy)(ptrdiff_t n, REAL ae, const REAL *restrict v, REAL *restrict p)
{
    ptrdiff_t m = 0;
#define BODY_(V, W) { VS_(V, p + m) = VL_(V, p + m) + VB_(V, ae) * VL_(V, v + m); }
    VLOOPS_(BODY_)
#undef BODY_
    if (m < n)
        p[m] += ae * v[m];
}

static inline void FN(axpy_masked)(ptrdiff_t n, REAL ae, const REAL *restrict v,
                                   REAL *restrict p, const REAL *restrict mk)
{
    ptrdiff_t m = 0;
#define BODY_(V, W)                                                                        \
    { VS_(V, p + m) = VL_(V, p + m) + VB_(V, ae) * VL_(V, v + m) * VL_(V, mk + m); }
    VLOOPS_(BODY_)
#undef BODY_
    if (m < n)
        p[m] += ae * v[m] * mk[m];
}

/* ---- the next step's net inputs in the update pass -------------------------------------
 * At a step with a target the rows W_out[j], W_c[c] and W_in[j] are updated by axpy and
 * traces_update above; the net inputs of step t + 1 for these rows are their dot products
 * with z(t+1) (zn).  update_dot computes them in the pass that updates the row, while it
 * is in registers, so that step t + 1 skips its mat-vec for them (one pass over these
 * parameters per step instead of two).  Each sum is that of FN(dot) for n >= 16 (the
 * order of FN(matvec)): partial sums s_l over the columns m = l (mod 4) in increasing m,
 * combined as (s_0 + s_2) + (s_1 + s_3).  The partial sums are the lanes of 4 / NM_
 * registers of NM_ lanes (as in the mat-vec); a vector of NL_ > 4 lanes at a column
 * m = 0 (mod 4) is added to them a quarter at a time, in increasing m, so that every s_l
 * receives its terms in the mat-vec's order.  The updates are element by element those
 * of axpy and traces_update: the same bits.
 *   kind 0: p = pc += ae z                                  (axpy), dot of pc
 *   kind 1: traces_update (dc, di, pc, pi),                  dot of pc
 *   kind 2: traces_update (dc, di, pc, pi),                  dots of pc and pi */
#ifndef LSTM97_FUSE_MIN_NZ
/* the shortest rows the fused pass takes: at least LSTM97_DOT_LANES_MIN (the order of its
 * sums); on rows of 37 and 41 columns it gained nothing on the clock (scaling.py --against,
 * ratios 0.9-1.05), from 69-80 columns 1.0-1.2 */
#define LSTM97_FUSE_MIN_NZ 64
#endif
#define UNIT_ (NL_ >= 4 ? NL_ : (ptrdiff_t)4)     /* columns per pass of the main loop */
#define UPD_(V, q)                                                                         \
    V zm = VL_(V, z + (q)), nc, ni = {0};                                                  \
    if (kind == 0) {                                                                       \
        nc = VL_(V, pc + (q)) + VB_(V, ae) * zm;                                           \
    } else {                                                                               \
        V tc = VL_(V, dc + (q)) + VB_(V, a) * zm;                                          \
        V ti = VL_(V, di + (q)) + VB_(V, b) * zm;                                          \
        VS_(V, dc + (q)) = tc;                                                             \
        VS_(V, di + (q)) = ti;                                                             \
        nc = VL_(V, pc + (q)) + VB_(V, ae) * tc;                                           \
        ni = VL_(V, pi + (q)) + VB_(V, ae) * ti;                                           \
        VS_(V, pi + (q)) = ni;                                                             \
    }                                                                                      \
    VS_(V, pc + (q)) = nc;                                                                 \
    V zq = VL_(V, zn + (q));                                                               \
    V prc = nc * zq, pri = ni * zq;

static inline __attribute__((always_inline)) void FN(update_dot_impl)(
    ptrdiff_t n, REAL a, REAL b, REAL ae, const REAL *restrict z, REAL *restrict dc,
    REAL *restrict di, REAL *restrict pc, REAL *restrict pi, const REAL *restrict zn,
    const int kind, REAL *out_c, REAL *out_i)
{
    typedef FN(vreg) vreg;
    typedef FN(mreg) mreg;
    mreg ac[4 / NM_], ai[4 / NM_];
    for (int k = 0; k < 4 / NM_; k++)
        ac[k] = ai[k] = (mreg){0};
    ptrdiff_t m = 0;
    for (; m + UNIT_ <= n; m += UNIT_) {
        for (int k = 0; k < UNIT_ / NL_; k++) {
            UPD_(vreg, m + k * NL_)
            for (int h = 0; h < NL_ / NM_; h++) {        /* quarters, in increasing m */
                mreg qc, qi;
                __builtin_memcpy(&qc, (const char *)&prc + h * sizeof qc, sizeof qc);
                ac[(k * (NL_ / NM_) + h) % (4 / NM_)] += qc;
                if (kind == 2) {
                    __builtin_memcpy(&qi, (const char *)&pri + h * sizeof qi, sizeof qi);
                    ai[(k * (NL_ / NM_) + h) % (4 / NM_)] += qi;
                }
            }
        }
    }
    for (; m + 4 <= n; m += 4) {                          /* m = 0 (mod 4) */
        for (int k = 0; k < 4 / NM_; k++) {
            UPD_(mreg, m + k * NM_)
            ac[k] += prc;
            if (kind == 2)
                ai[k] += pri;
        }
    }
    REAL sc[4], si[4];
    for (int k = 0; k < 4 / NM_; k++)
        for (ptrdiff_t l = 0; l < NM_; l++) {
            sc[k * NM_ + l] = ac[k][l];
            si[k * NM_ + l] = ai[k][l];
        }
    for (ptrdiff_t l = 0; m + l < n; l++) {              /* the last n mod 4 columns */
        const ptrdiff_t q = m + l;
        REAL nc, ni = 0;
        if (kind == 0) {
            nc = pc[q] + ae * z[q];
        } else {
            REAL tc = dc[q] + a * z[q];
            REAL ti = di[q] + b * z[q];
            dc[q] = tc;
            di[q] = ti;
            nc = pc[q] + ae * tc;
            ni = pi[q] + ae * ti;
            pi[q] = ni;
        }
        pc[q] = nc;
        sc[l] += nc * zn[q];
        if (kind == 2)
            si[l] += ni * zn[q];
    }
    *out_c = (sc[0] + sc[2]) + (sc[1] + sc[3]);
    if (kind == 2)
        *out_i = (si[0] + si[2]) + (si[1] + si[3]);
}
#undef UPD_
#undef UNIT_

/* axpy(n, ae, v, p), then *out = p . zn (n >= LSTM97_DOT_LANES_MIN).  noinline, as
 * traces_update_dot: inlined, the two would grow every step (the steps that never call
 * them included) past the compiler's inlining budget for its other helpers. */
static __attribute__((noinline)) void FN(axpy_dot)(ptrdiff_t n, REAL ae,
                                                   const REAL *restrict v, REAL *restrict p,
                                                   const REAL *restrict zn, REAL *out)
{
    FN(update_dot_impl)(n, 0, 0, ae, v, NULL, NULL, p, NULL, zn, 0, out, NULL);
}

/* traces_update(n, a, b, ae, z, dc, di, pc, pi), then *out_c = pc . zn and, when out_i
 * is not NULL (the last cell of a block: W_in's row is final), *out_i = pi . zn */
static __attribute__((noinline)) void FN(traces_update_dot)(
    ptrdiff_t n, REAL a, REAL b, REAL ae, const REAL *restrict z, REAL *restrict dc,
    REAL *restrict di, REAL *restrict pc, REAL *restrict pi, const REAL *restrict zn,
    REAL *out_c, REAL *out_i)
{
    if (out_i)
        FN(update_dot_impl)(n, a, b, ae, z, dc, di, pc, pi, zn, 2, out_c, out_i);
    else
        FN(update_dot_impl)(n, a, b, ae, z, dc, di, pc, pi, zn, 1, out_c, NULL);
}
/* The traces of a cell whose block has a forget gate (Gers et al. 2000), element by
 * element the operations of the plain step's loop: every trace row decays by phi = y_phi_j
 * and dS_phi[c] (row df) is driven by s_c(t-1) through p:
 *     dc = phi dc + a z,   di = phi di + b z,   df = phi df + p z;
 * with `learn` (a constant after inlining) fused with the updates of W_c[c], W_in[j] and
 * W_phi[j] (rows pc, pi, pf of P), multiplied by the mask rows mc, mi, mf when `masked`. */
static inline void FN(traces_forget_impl)(ptrdiff_t n, REAL phi, REAL a, REAL b, REAL p,
                                          REAL ae, const REAL *restrict z,
                                          REAL *restrict dc, REAL *restrict di,
                                          REAL *restrict df, REAL *restrict pc,
                                          REAL *restrict pi, REAL *restrict pf,
                                          const REAL *restrict mc, const REAL *restrict mi,
                                          const REAL *restrict mf, const int learn,
                                          const int masked)
{
    ptrdiff_t m = 0;
#define BODY_(V, W)                                                                        \
    {                                                                                      \
        V zm = VL_(V, z + m), vphi = VB_(V, phi), vae = VB_(V, ae);                        \
        V tc = vphi * VL_(V, dc + m) + VB_(V, a) * zm;                                     \
        V ti = vphi * VL_(V, di + m) + VB_(V, b) * zm;                                     \
        V tf = vphi * VL_(V, df + m) + VB_(V, p) * zm;                                     \
        VS_(V, dc + m) = tc;                                                               \
        VS_(V, di + m) = ti;                                                               \
        VS_(V, df + m) = tf;                                                               \
        if (learn) {                                                                       \
            VS_(V, pc + m) = VL_(V, pc + m) +                                          \
                               (masked ? vae * tc * VL_(V, mc + m) : vae * tc);        \
            VS_(V, pi + m) = VL_(V, pi + m) +                                          \
                               (masked ? vae * ti * VL_(V, mi + m) : vae * ti);        \
            VS_(V, pf + m) = VL_(V, pf + m) +                                          \
                               (masked ? vae * tf * VL_(V, mf + m) : vae * tf);        \
        }                                                                                  \
    }
    VLOOPS_(BODY_)
#undef BODY_
    if (m < n) {                 /* at most one value left (VLOOPS_) */
        REAL tc = phi * dc[m] + a * z[m];
        REAL ti = phi * di[m] + b * z[m];
        REAL tf = phi * df[m] + p * z[m];
        dc[m] = tc;
        di[m] = ti;
        df[m] = tf;
        if (learn) {
            pc[m] += masked ? ae * tc * mc[m] : ae * tc;
            pi[m] += masked ? ae * ti * mi[m] : ae * ti;
            pf[m] += masked ? ae * tf * mf[m] : ae * tf;
        }
    }
}

/* the forget-gate traces alone (a step without a target) */
static inline void FN(traces_forget)(ptrdiff_t n, REAL phi, REAL a, REAL b, REAL p,
                                     const REAL *restrict z, REAL *restrict dc,
                                     REAL *restrict di, REAL *restrict df)
{
    FN(traces_forget_impl)(n, phi, a, b, p, 0, z, dc, di, df, NULL, NULL, NULL,
                           NULL, NULL, NULL, 0, 0);
}

static inline void FN(traces_forget_update)(ptrdiff_t n, REAL phi, REAL a, REAL b, REAL p,
                                            REAL ae, const REAL *restrict z,
                                            REAL *restrict dc, REAL *restrict di,
                                            REAL *restrict df, REAL *restrict pc,
                                            REAL *restrict pi, REAL *restrict pf)
{
    FN(traces_forget_impl)(n, phi, a, b, p, ae, z, dc, di, df, pc, pi, pf,
                           NULL, NULL, NULL, 1, 0);
}

static inline void FN(traces_forget_update_masked)(ptrdiff_t n, REAL phi, REAL a, REAL b,
                                                   REAL p, REAL ae, const REAL *restrict z,
                                                   REAL *restrict dc, REAL *restrict di,
                                                   REAL *restrict df, REAL *restrict pc,
                                                   REAL *restrict pi, REAL *restrict pf,
                                                   const REAL *restrict mc,
                                                   const REAL *restrict mi,
                                                   const REAL *restrict mf)
{
    FN(traces_forget_impl)(n, phi, a, b, p, ae, z, dc, di, df, pc, pi, pf, mc, mi, mf, 1, 1);
}
#undef VL_
#undef VS_
#undef VB_
#undef VLOOPS_
#undef NH_
#undef NS_
#undef NQ_
#undef NL_
#undef NM_

/* ---- sparse inputs (one-hot tasks) ---------------------------------------------------------
 * z and u both hold x at columns 1..I.  When few inputs are nonzero, the loops over z or u
 * visit column 0, the nonzero x columns (ascending) and the dense tail from column 1+I:
 * the same terms in the same order as the dense loops, minus terms that are exactly 0
 * (w * 0 and dS + a * 0 change nothing), so the results are bitwise those of step_naive. */
typedef struct FN(lstm97_cols) {
    ptrdiff_t nnz;          /* nonzero inputs */
    const int32_t *idx;     /* their indices into x */
    ptrdiff_t tail;         /* first dense column after x: 1 + I */
} FN(lstm97_cols);

static inline REAL FN(sp_dot)(const REAL *restrict w, const REAL *restrict v,
                              const FN(lstm97_cols) *cs, ptrdiff_t n)
{
    if (n < LSTM97_DOT_LANES_MIN) {
        REAL acc = w[0] * v[0];
        for (ptrdiff_t j = 0; j < cs->nnz; j++) {
            ptrdiff_t m = 1 + cs->idx[j];
            acc += w[m] * v[m];
        }
        for (ptrdiff_t m = cs->tail; m < n; m++)
            acc += w[m] * v[m];
        return acc;
    }
    REAL acc[4] = {0, 0, 0, 0};
    acc[0] += w[0] * v[0];
    for (ptrdiff_t j = 0; j < cs->nnz; j++) {
        ptrdiff_t m = 1 + cs->idx[j];
        acc[m & 3] += w[m] * v[m];
    }
    for (ptrdiff_t m = cs->tail; m < n; m++)
        acc[m & 3] += w[m] * v[m];
    return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

static inline void FN(sp_axpy)(ptrdiff_t n, REAL ae, const REAL *restrict v,
                               REAL *restrict p, const REAL *restrict mk,
                               const FN(lstm97_cols) *cs)
{
    p[0] += mk ? ae * v[0] * mk[0] : ae * v[0];
    for (ptrdiff_t j = 0; j < cs->nnz; j++) {
        ptrdiff_t m = 1 + cs->idx[j];
        p[m] += mk ? ae * v[m] * mk[m] : ae * v[m];
    }
    if (mk)
        FN(axpy_masked)(n - cs->tail, ae, v + cs->tail, p + cs->tail, mk + cs->tail);
    else
        FN(axpy)(n - cs->tail, ae, v + cs->tail, p + cs->tail);
}

static inline void FN(sp_traces)(ptrdiff_t n, REAL a, REAL b, const REAL *restrict z,
                                 REAL *restrict dc, REAL *restrict di,
                                 const FN(lstm97_cols) *cs)
{
    dc[0] += a * z[0];
    di[0] += b * z[0];
    for (ptrdiff_t j = 0; j < cs->nnz; j++) {
        ptrdiff_t m = 1 + cs->idx[j];
        dc[m] += a * z[m];
        di[m] += b * z[m];
    }
    FN(traces_only)(n - cs->tail, a, b, z + cs->tail, dc + cs->tail, di + cs->tail);
}

/* ---- peepholes (Gers et al. 2002) ---------------------------------------------------------
 * The traces of the input- and forget-gate peepholes, then (with a target) the updates of
 * P_out, P_in and P_phi: the plain step's loops, C * S values per step.  c, c' = j S + q in
 * the same block j; src = s(t-1) of the block's cells; phi = 1 without forget gates.
 *     dS_in_P[c,c']  <- phi dS_in_P[c,c']  + g(net_c) f'(net_in_j) s_c'(t-1)
 *     dS_phi_P[c,c'] <- phi dS_phi_P[c,c'] + s_c(t-1) f'(net_phi_j) s_c'(t-1)
 *     dP_out[c] = alpha e_out_j s_c(t),  dP_in[c'] = alpha sum_{c in j} e_s_c dS_in_P[c,c']
 *     (likewise P_phi) */
static inline void FN(peep_traces_update)(const lstm97_dims *d, const lstm97_layout *L,
                                          const FN(lstm97_work_view) *v, const REAL *s,
                                          REAL *restrict dS_in_P, REAL *restrict dS_phi_P,
                                          int learn, REAL alpha, REAL *P, const REAL *M)
{
    const ptrdiff_t B = d->B, S = d->S;
    const int has_phi = d->forget_gate;
    for (ptrdiff_t j = 0, c = 0; j < B; j++) {
        const REAL *src = v->s_prev + j * S;
        const REAL fin = v->y_in[j] * ((REAL)1 - v->y_in[j]);
        if (!has_phi) {                          /* phi = 1: 1 * x is x */
            for (ptrdiff_t q0 = 0; q0 < S; q0++, c++) {
                REAL b = v->g_c[c] * fin;
                REAL *din = dS_in_P + c * S;
                for (ptrdiff_t q = 0; q < S; q++)
                    din[q] = din[q] + b * src[q];
            }
            continue;
        }
        const REAL phi = v->y_phi[j], fphi = phi * ((REAL)1 - phi);
        for (ptrdiff_t q0 = 0; q0 < S; q0++, c++) {
            REAL b = v->g_c[c] * fin, p = v->s_prev[c] * fphi;
            REAL *din = dS_in_P + c * S, *dphi = dS_phi_P + c * S;
            for (ptrdiff_t q = 0; q < S; q++) {
                din[q] = phi * din[q] + b * src[q];
                dphi[q] = phi * dphi[q] + p * src[q];
            }
        }
    }
    if (!learn)
        return;
    REAL *P_in = P + L->P_in, *P_phi = has_phi ? P + L->P_phi : NULL;
    const REAL *M_in = M + L->P_in, *M_phi = has_phi ? M + L->P_phi : NULL;
    for (ptrdiff_t j = 0, c = 0; j < B; j++) {
        if (L->P_out >= 0) {
            REAL ae = alpha * v->e_out[j];
            for (ptrdiff_t q = 0; q < S; q++)
                P[L->P_out + j * S + q] += ae * s[j * S + q] * M[L->P_out + j * S + q];
        }
        for (ptrdiff_t q0 = 0; q0 < S; q0++, c++) {
            REAL ae = alpha * v->e_s[c];
            const REAL *din = dS_in_P + c * S;
            for (ptrdiff_t q = 0; q < S; q++)
                P_in[j * S + q] += ae * din[q] * M_in[j * S + q];
            for (ptrdiff_t q = 0; P_phi && q < S; q++)
                P_phi[j * S + q] += ae * dS_phi_P[c * S + q] * M_phi[j * S + q];
        }
    }
}

/* STEP_OPT_: with LSTM97_STEP_VERY_CHEAP (lstm97.c, the float32 kernels under GCC) the
 * step is compiled with the auto-vectoriser's "very cheap" model, as the float64 kernels
 * are: the default model vectorises the step's short loops over blocks and cells
 * (a few values each on the paper's nets) with prologues, epilogues and vector loads of
 * values just stored one by one, which cost more than they save.  It is set on the two
 * wrappers below, not on step_fast_onehot: the one-hot nets' loops over K = 1004 outputs
 * gain from the default model (2c, float32: 177,509 -> 181,285 instructions per step
 * with it, 174,072 without). */
#ifdef LSTM97_STEP_VERY_CHEAP
#define STEP_OPT_ __attribute__((optimize("vect-cost-model=very-cheap")))
#else
#define STEP_OPT_
#endif

/* ---- one step, tuned ----------------------------------------------------------------------
 * The same arithmetic as step_naive, in the same order for every sum, reorganised:
 * the net inputs of all gates and cells come from one blocked matrix-vector product over
 * the contiguous rows W_in, W_out, W_phi, W_c; the errors are computed before the traces,
 * so that the trace update (eqs. 25, 27, and dS_phi) and the weight updates (eqs. 26, 28,
 * and dW_phi) share one pass over each trace row.
 *
 * The options of the family are branches on dims: a forget gate (y_phi, net_phi, dS_phi)
 * makes every trace decay by y_phi, so its traces take dense loops even for sparse inputs;
 * peepholes (P_in, P_phi, P_out) add s(t-1) terms to net_in and net_phi before the
 * activations and an s(t) term to net_out after the state update, and their traces and
 * updates run after the others (peep_traces_update).  Without either option the step is
 * that of the 1997 cell.  With `onehot` (a constant after inlining; the 1997 cell, mode
 * LSTM97_LEARN, x_t unused) the input is given by the index i_t of its one nonzero
 * column (step_fast_onehot). */
static inline __attribute__((always_inline)) int FN(step_fast_impl)(
    const lstm97_dims *d, const lstm97_layout *L, REAL *params, const REAL *masks,
    const REAL *x_t, const REAL *t_t, REAL alpha, int mode, REAL *y_t, REAL *state,
    REAL *work, REAL *dW, const int family, const int onehot, int32_t i_t, int32_t prev,
    const REAL *x_next, int pre, int *pre_out, const int fuse)
{
    const ptrdiff_t I = d->I, K = d->K, B = d->B, S = d->S;
    const ptrdiff_t C = L->C, nz = L->nz, nu = L->nu;
    const int has_out = d->output_gate, has_phi = family && d->forget_gate;
    const REAL *W_k = params + L->W_k;
    const int has_peep = family && d->peepholes;
    const REAL *P_in = has_peep ? params + L->P_in : NULL;          /* peepholes (C) */
    const REAL *P_phi = has_peep && has_phi ? params + L->P_phi : NULL;
    const REAL *P_out = has_peep && has_out ? params + L->P_out : NULL;
    /* rows of full (mask_rows), in parameter order: W_in, W_out, W_phi, W_c, W_k */
    const ptrdiff_t row_phi = (has_out ? 2 : 1) * B, row_c = row_phi + (has_phi ? B : 0);
    const ptrdiff_t row_k = row_c + C;

    REAL *z = state;                 /* (nz) */
    REAL *s = z + nz;                /* (C) */
    REAL *dS_c = s + C;              /* (C, nz) */
    REAL *dS_in = dS_c + C * nz;     /* (C, nz) */
    REAL *dS_phi = has_phi ? dS_in + C * nz : NULL;          /* (C, nz) with forget gates */
    REAL *dS_in_P = has_peep ? (has_phi ? dS_phi : dS_in) + C * nz : NULL;  /* (C, S) */
    REAL *dS_phi_P = has_peep && has_phi ? dS_in_P + C * S : NULL;      /* (C, S), both */
    FN(lstm97_work_view) v = FN(work_view)(d, L, work);
    /* net inputs land in the activation buffers, which are contiguous in work in the order
       of their rows in params: y_in (B), y_out (B), y_phi (B, forget gates), g_c (C).
       Without output gates the rows after W_in (W_phi, W_c) go after the y_out slot. */
    REAL *net = v.y_in;
    REAL *after_out = v.y_out + B;

    z[0] = 1;
    FN(lstm97_cols) cols = {0, v.idx, 1 + I};
    int sparse = 0;
    const int32_t one = i_t;
    if (onehot) {
        /* the input given by index: x(t) is the one-hot vector of i_t (0 if i_t < 0); z
           and u keep their x columns at 0 but that one (prev: the previous step's) */
        if (prev >= 0)
            z[1 + prev] = 0;
        if (i_t >= 0)
            z[1 + i_t] = 1;
        cols.nnz = i_t >= 0;
        cols.idx = &one;
        sparse = 1;
    } else {
        for (ptrdiff_t i = 0; i < I; i++)
            z[1 + i] = x_t[i];
    }

    /* sparse inputs: list the nonzero x (inputs of one-hot tasks) */
    if (!onehot && I >= LSTM97_SPARSE_MIN_I) {
        ptrdiff_t nnz = 0;
        for (ptrdiff_t i = 0; i < I; i++)
            if (x_t[i] != 0)
                v.idx[nnz++] = (int32_t)i;
        cols.nnz = nnz;
        sparse = 4 * nnz <= I;
    }

    /* net_in, net_out, net_phi, net_c: rows W_in, W_out, W_phi, W_c are consecutive */
    const ptrdiff_t R = row_c + C;
    if (sparse) {
        const REAL *W = params + L->W_in;
        for (ptrdiff_t r = 0; r < R; r++) {
            REAL a = FN(sp_dot)(W + r * nz, z, &cols, nz);
            if (has_out || r < B)
                net[r] = a;
            else
                after_out[r - B] = a;
        }
    } else if (fuse && pre) {
        /* the previous step of this call computed them (update_dot, below) */
        for (ptrdiff_t j = 0; j < B; j++)
            v.y_in[j] = v.back_c[j];
        for (ptrdiff_t j = 0; has_out && j < B; j++)
            v.y_out[j] = v.e_out[j];
        for (ptrdiff_t c = 0; c < C; c++)
            v.g_c[c] = v.h_s[c];        /* net_c: g_c, with or without output gates */
    } else if (has_out) {
        FN(matvec)(params + L->W_in, z, R, nz, net);
    } else {
        FN(matvec)(params + L->W_in, z, B, nz, v.y_in);
        FN(matvec)(params + L->W_in + B * nz, z, R - B, nz, after_out);
    }
    /* peepholes: the input and forget gates see s(t-1) */
    for (ptrdiff_t j = 0; P_in && j < B; j++) {
        v.y_in[j] += FN(peep)(P_in, s, j, S);
        if (P_phi)
            v.y_phi[j] += FN(peep)(P_phi, s, j, S);
    }
    /* activations over whole arrays (two logistics at a time): the gates y_in, y_out,
       y_phi and, when g is built on sig, the cell inputs g_c in one pass over the
       contiguous net. */
    const int f_g = FN(g_squash)(d->g);
    /* with P_out, net_out waits in e_out (unused until the errors) for the s(t) term,
       and the logistic pass gives y_out a value that the second pass replaces */
    if (P_out)
        for (ptrdiff_t j = 0; j < B; j++)
            v.e_out[j] = v.y_out[j];
    if (has_out && FN(squash_is_sig)(f_g)) {
        FN(sig_array)(R, net, net);
        FN(squash_from_sig)(f_g, C, v.g_c);
    } else {
        if (has_out) {
            FN(sig_array)(row_c, net, net);           /* y_in, y_out, y_phi */
        } else {
            FN(sig_array)(B, v.y_in, v.y_in);
            if (has_phi)
                FN(sig_array)(B, v.y_phi, v.y_phi);
            for (ptrdiff_t j = 0; j < B; j++)
                v.y_out[j] = 1;
        }
        FN(squash_array)(f_g, C, v.g_c, v.g_c);
    }
    /* the state: s_c(t) = s_c(t-1) + y_in_j g(net_c) (CEC, weight 1.0), or with a forget
       gate s_c(t) = y_phi_j s_c(t-1) + y_in_j g(net_c) */
    if (has_phi || has_peep)
        for (ptrdiff_t c = 0; c < C; c++)
            v.s_prev[c] = s[c];
    if (has_phi) {
        for (ptrdiff_t j = 0, c = 0; j < B; j++)
            for (ptrdiff_t q = 0; q < S; q++, c++)
                s[c] = v.y_phi[j] * s[c] + v.y_in[j] * v.g_c[c];
    } else {
        for (ptrdiff_t j = 0, c = 0; j < B; j++)
            for (ptrdiff_t q = 0; q < S; q++, c++)
                s[c] += v.y_in[j] * v.g_c[c];
    }
    FN(squash_array)(FN(h_squash)(d->h), C, s, v.h_s);
    if (P_out) {        /* the output gate's peephole sees the new state s(t) */
        for (ptrdiff_t j = 0; j < B; j++)
            v.y_out[j] = v.e_out[j] + FN(peep)(P_out, s, j, S);
        FN(sig_array)(B, v.y_out, v.y_out);
    }
    for (ptrdiff_t j = 0, c = 0; j < B; j++)
        for (ptrdiff_t q = 0; q < S; q++, c++)
            v.y_c[c] = v.y_out[j] * v.h_s[c];
    v.u[0] = 1;
    if (onehot) {
        if (prev >= 0)
            v.u[1 + prev] = 0;
        if (i_t >= 0)
            v.u[1 + i_t] = 1;
    } else {
        for (ptrdiff_t i = 0; i < I; i++)
            v.u[1 + i] = x_t[i];
    }
    for (ptrdiff_t c = 0; c < C; c++)
        v.u[1 + I + c] = v.y_c[c];
    if (sparse) {
        for (ptrdiff_t k = 0; k < K; k++)
            v.y_k[k] = FN(sp_dot)(W_k + k * nu, v.u, &cols, nu);
    } else {
        FN(matvec)(W_k, v.u, K, nu, v.y_k);
    }
    if (d->out == LSTM97_OUT_LOGISTIC)
        FN(sig_array)(K, v.y_k, v.y_k);
    else if (d->out == LSTM97_OUT_SOFTMAX)
        FN(softmax)(K, v.y_k);
    int finite = 1;
    for (ptrdiff_t k = 0; k < K; k++) {
        y_t[k] = v.y_k[k];
        finite &= isfinite(v.y_k[k]) != 0;
    }
    for (ptrdiff_t c = 0; c < C; c++)
        finite &= isfinite(s[c]) != 0;

    /* fused: this step computes the next step's net inputs in its update pass (1997 cell,
       a target, dense inputs at t and t + 1, nz >= LSTM97_FUSE_MIN_NZ, no mask zero in the
       rows W_in, W_out, W_c).  z(t+1) = [1, x(t+1), y_c(t)] (and with "full" sources
       y_in(t), y_out(t)) is u (after W_k's update, which last reads u(t)) with x(t+1) in
       its x columns, followed in work by y_in and y_out.  The net inputs land in buffers
       that the rest of the step no longer reads: net_in in back_c, net_out in e_out, net_c
       in h_s; the caller passes `pre` to the next step of the same call, which takes them
       from there instead of its mat-vec.  Nothing of them outlives the call: its first
       step computes its own. */
    int fused = 0;
    if (fuse && !family && !onehot && x_next && mode == LSTM97_LEARN && t_t && !sparse &&
        nz >= LSTM97_FUSE_MIN_NZ) {
        fused = 1;
        for (ptrdiff_t r = 0; r < row_k; r++)
            fused &= v.full[r] != 0;
        if (fused && I >= LSTM97_SPARSE_MIN_I) {      /* step t + 1 takes the sparse path */
            ptrdiff_t nnz = 0;
            for (ptrdiff_t i = 0; i < I; i++)
                nnz += x_next[i] != 0;
            fused = 4 * nnz > I;
        }
    }
    if (pre_out)
        *pre_out = fused;

    if (mode != LSTM97_FORWARD) {
        const int learn = t_t != NULL;
        REAL *P = mode == LSTM97_LEARN ? params : dW;
        const REAL *M = masks;
        if (learn) {
            for (ptrdiff_t k = 0; k < K; k++)
                v.e_k[k] = FN(out_error)(d->out, v.y_k[k], t_t[k]);
            for (ptrdiff_t c = 0; c < C; c++)
                v.back_c[c] = 0;
            for (ptrdiff_t k = 0; k < K; k++) {
                const REAL *wk = W_k + k * nu + 1 + I;
                REAL ek = v.e_k[k];
                for (ptrdiff_t c = 0; c < C; c++)
                    v.back_c[c] += wk[c] * ek;
            }
            for (ptrdiff_t j = 0; j < B; j++) {
                REAL acc = 0;
                for (ptrdiff_t c = j * S; c < (j + 1) * S; c++) {
                    acc += v.h_s[c] * v.back_c[c];
                    v.e_s[c] = v.y_out[j] * FN(h_prime)(d->h, v.h_s[c]) * v.back_c[c];
                }
                v.e_out[j] = v.y_out[j] * ((REAL)1 - v.y_out[j]) * acc;
            }
            /* eq. 22: W_k (after back_c has read it) and W_out.  A mask row without
               zeros is skipped: x * 1 is exact, so the result is that of step_naive. */
            for (ptrdiff_t k = 0; k < K; k++) {
                REAL ae = alpha * v.e_k[k];
                REAL *p = P + L->W_k + k * nu;
                const REAL *mk = v.full[row_k + k] != 0 ? NULL : M + L->W_k + k * nu;
                if (sparse)
                    FN(sp_axpy)(nu, ae, v.u, p, mk, &cols);
                else if (!mk)
                    FN(axpy)(nu, ae, v.u, p);
                else
                    FN(axpy_masked)(nu, ae, v.u, p, mk);
            }
            if (fused)                                /* u becomes z(t+1) */
                for (ptrdiff_t i = 0; i < I; i++)
                    v.u[1 + i] = x_next[i];
            if (has_out) {
                for (ptrdiff_t j = 0; j < B; j++) {
                    REAL ae = alpha * v.e_out[j];
                    REAL *p = P + L->W_out + j * nz;
                    const REAL *mk = v.full[B + j] != 0 ? NULL : M + L->W_out + j * nz;
                    if (fused)
                        FN(axpy_dot)(nz, ae, z, p, v.u, &v.e_out[j]);
                    else if (sparse)
                        FN(sp_axpy)(nz, ae, z, p, mk, &cols);
                    else if (!mk)
                        FN(axpy)(nz, ae, z, p);
                    else
                        FN(axpy_masked)(nz, ae, z, p, mk);
                }
            }
        }
        if (has_phi) {
            /* forget gate: traces (decaying by y_phi, dS_phi driven by s_c(t-1)) fused
               with the updates of W_c, W_in and W_phi; dense loops, since a zero input
               no longer leaves a trace entry unchanged */
            for (ptrdiff_t j = 0, c = 0; j < B; j++) {
                REAL phi = v.y_phi[j];
                REAL fin = v.y_in[j] * ((REAL)1 - v.y_in[j]);
                REAL fphi = phi * ((REAL)1 - phi);
                for (ptrdiff_t q = 0; q < S; q++, c++) {
                    REAL a = FN(g_prime)(d->g, v.g_c[c]) * v.y_in[j];
                    REAL b = v.g_c[c] * fin;
                    REAL p = v.s_prev[c] * fphi;
                    REAL *dc = dS_c + c * nz, *di = dS_in + c * nz, *df = dS_phi + c * nz;
                    if (!learn) {
                        FN(traces_forget)(nz, phi, a, b, p, z, dc, di, df);
                        continue;
                    }
                    REAL ae = alpha * v.e_s[c];
                    REAL *pc = P + L->W_c + c * nz;
                    REAL *pi = P + L->W_in + j * nz;
                    REAL *pf = P + L->W_phi + j * nz;
                    if (v.full[row_c + c] != 0 && v.full[j] != 0 && v.full[row_phi + j] != 0)
                        FN(traces_forget_update)(nz, phi, a, b, p, ae, z, dc, di, df,
                                                 pc, pi, pf);
                    else
                        FN(traces_forget_update_masked)(nz, phi, a, b, p, ae, z, dc, di, df,
                                                        pc, pi, pf, M + L->W_c + c * nz,
                                                        M + L->W_in + j * nz,
                                                        M + L->W_phi + j * nz);
                }
            }
        } else if (!learn && !sparse) {
            /* traces (eqs. 27, 25) without a target and dense inputs: two cells of a
               block per pass over z, g' of every cell first (into e_s, which a step
               without a target does not use) */
            FN(squash_prime_array)(FN(g_squash)(d->g), C, v.g_c, v.e_s);
            for (ptrdiff_t j = 0, c = 0; j < B; j++) {
                REAL fin = v.y_in[j] * ((REAL)1 - v.y_in[j]);
                ptrdiff_t q = 0;
                for (; q + 2 <= S; q += 2, c += 2)
                    FN(traces_only2)(nz, v.e_s[c] * v.y_in[j], v.g_c[c] * fin,
                                     v.e_s[c + 1] * v.y_in[j], v.g_c[c + 1] * fin, z,
                                     dS_c + c * nz, dS_in + c * nz);
                for (; q < S; q++, c++)
                    FN(traces_only)(nz, v.e_s[c] * v.y_in[j], v.g_c[c] * fin, z,
                                    dS_c + c * nz, dS_in + c * nz);
            }
        } else {
            /* traces (eqs. 27, 25) fused with the updates of W_c (eq. 28) and W_in
               (eq. 26) */
            for (ptrdiff_t j = 0, c = 0; j < B; j++) {
                REAL fin = v.y_in[j] * ((REAL)1 - v.y_in[j]);
                for (ptrdiff_t q = 0; q < S; q++, c++) {
                    REAL a = FN(g_prime)(d->g, v.g_c[c]) * v.y_in[j];
                    REAL b = v.g_c[c] * fin;
                    REAL *dc = dS_c + c * nz;
                    REAL *di = dS_in + c * nz;
                    if (sparse) {
                        /* traces on the nonzero columns, then (target) dense updates:
                           the same values as the fused loops below */
                        FN(sp_traces)(nz, a, b, z, dc, di, &cols);
                        if (learn) {
                            REAL ae = alpha * v.e_s[c];
                            REAL *pc = P + L->W_c + c * nz;
                            REAL *pi = P + L->W_in + j * nz;
                            if (v.full[row_c + c] != 0 && v.full[j] != 0) {
                                FN(axpy)(nz, ae, dc, pc);
                                FN(axpy)(nz, ae, di, pi);
                            } else {
                                FN(axpy_masked)(nz, ae, dc, pc, M + L->W_c + c * nz);
                                FN(axpy_masked)(nz, ae, di, pi, M + L->W_in + j * nz);
                            }
                        }
                    } else if (!learn) {
                        FN(traces_only)(nz, a, b, z, dc, di);
                    } else if (fused) {
                        FN(traces_update_dot)(nz, a, b, alpha * v.e_s[c], z, dc, di,
                                              P + L->W_c + c * nz, P + L->W_in + j * nz,
                                              v.u, &v.h_s[c],
                                              q == S - 1 ? &v.back_c[j] : NULL);
                    } else {
                        REAL ae = alpha * v.e_s[c];
                        REAL *pc = P + L->W_c + c * nz;
                        REAL *pi = P + L->W_in + j * nz;
                        if (v.full[row_c + c] != 0 && v.full[j] != 0)
                            FN(traces_update)(nz, a, b, ae, z, dc, di, pc, pi);
                        else
                            FN(traces_update_masked)(nz, a, b, ae, z, dc, di, pc, pi,
                                                     M + L->W_c + c * nz,
                                                     M + L->W_in + j * nz);
                    }
                }
            }
        }
        if (has_peep)
            FN(peep_traces_update)(d, L, &v, s, dS_in_P, dS_phi_P, learn, alpha, P, M);
    }

    /* recurrent part of z(t+1): y_c(t), and with "full" sources y_in(t), y_out(t),
       y_phi(t) */
    for (ptrdiff_t c = 0; c < C; c++)
        z[1 + I + c] = v.y_c[c];
    if (d->sources == LSTM97_SOURCES_FULL)
        for (ptrdiff_t j = 0; j < B; j++) {
            z[1 + I + C + j] = v.y_in[j];
            if (has_out)
                z[1 + I + C + B + j] = v.y_out[j];
            if (has_phi)
                z[1 + I + C + row_phi + j] = v.y_phi[j];
        }
    return finite ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}

/* Two variants of the one source, each its own function with the options constant: the
 * 1997 cell (family = 0: every branch of the forget gate and the peepholes compiled away,
 * so that the 1997 step pays nothing for them) and the family (forget gates and peepholes
 * read from dims).  noinline keeps each the size of one step, within the compiler's
 * inlining budget for the helpers it calls. */
static __attribute__((noinline)) STEP_OPT_ int FN(step_fast_cell97)(
    const lstm97_dims *d, const lstm97_layout *L, REAL *params, const REAL *masks,
    const REAL *x_t, const REAL *t_t, REAL alpha, int mode, REAL *y_t, REAL *state,
    REAL *work, REAL *dW)
{
    return FN(step_fast_impl)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state, work,
                              dW, 0, 0, -1, -1, NULL, 0, NULL, 0);
}

/* The 1997 cell's step that computes the next step's net inputs in its update pass (and
 * takes its own from the previous step: pre), for rows of nz >= LSTM97_FUSE_MIN_NZ.  A
 * variant of its own, so that the code of the fused pass costs nothing to the steps of
 * smaller nets (adding net, AVX2, float64: 2,491 -> 2,625 instructions per step with it
 * in the one step). */
static __attribute__((noinline)) STEP_OPT_ int FN(step_fast_cell97_fused)(
    const lstm97_dims *d, const lstm97_layout *L, REAL *params, const REAL *masks,
    const REAL *x_t, const REAL *t_t, REAL alpha, int mode, REAL *y_t, REAL *state,
    REAL *work, REAL *dW, const REAL *x_next, int pre, int *pre_out)
{
    return FN(step_fast_impl)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state, work,
                              dW, 0, 0, -1, -1, x_next, pre, pre_out, 1);
}

static __attribute__((noinline)) STEP_OPT_ int FN(step_fast_family)(
    const lstm97_dims *d, const lstm97_layout *L, REAL *params, const REAL *masks,
    const REAL *x_t, const REAL *t_t, REAL alpha, int mode, REAL *y_t, REAL *state,
    REAL *work, REAL *dW)
{
    return FN(step_fast_impl)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state, work,
                              dW, 1, 0, -1, -1, NULL, 0, NULL, 0);
}

/* The 1997 cell's step, mode LSTM97_LEARN, on the input given by index (lstm97_onehot.h):
 * x(t) is the one-hot vector of i_t (or 0 if i_t < 0), prev the previous step's index
 * (-1: none), whose x columns of z and u it clears.  The sparse path of the step above
 * with the nonzero column given instead of found by a scan of x: the same operations on
 * the same terms as lstm97_train on the dense one-hot x. */
static __attribute__((noinline)) int FN(step_fast_onehot)(
    const lstm97_dims *d, const lstm97_layout *L, REAL *params, const REAL *masks,
    int32_t i_t, int32_t prev, const REAL *t_t, REAL alpha, REAL *y_t, REAL *state,
    REAL *work)
{
    return FN(step_fast_impl)(d, L, params, masks, NULL, t_t, alpha, LSTM97_LEARN, y_t,
                              state, work, NULL, 0, 1, i_t, prev, NULL, 0, NULL, 0);
}

/* One tuned step.  x_next: x(t+1) when the same call runs step t + 1 next (else NULL);
 * pre: the previous step of this call computed this step's net inputs (its *pre_out);
 * *pre_out (when pre_out is not NULL): whether this step computed those of step t + 1.
 * Only the 1997 cell's step computes them (the family's never does). */
static inline int FN(step_fast)(const lstm97_dims *d, const lstm97_layout *L,
                                REAL *params, const REAL *masks,
                                const REAL *x_t, const REAL *t_t, REAL alpha, int mode,
                                REAL *y_t, REAL *state, REAL *work, REAL *dW,
                                const REAL *x_next, int pre, int *pre_out)
{
    if (pre_out)
        *pre_out = 0;
    if (d->forget_gate || d->peepholes)
        return FN(step_fast_family)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state,
                                    work, dW);
    if (L->nz >= LSTM97_FUSE_MIN_NZ && (x_next || pre))
        return FN(step_fast_cell97_fused)(d, L, params, masks, x_t, t_t, alpha, mode, y_t,
                                          state, work, dW, x_next, pre, pre_out);
    return FN(step_fast_cell97)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state,
                                work, dW);
}
#undef STEP_OPT_
