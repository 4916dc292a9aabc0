/*
 * lstm97_impl.h -- the kernels, written once for a generic REAL.
 *
 * Included by lstm97.c once per REAL type and instruction set: REAL = double with
 * FN(x) = x##_f64 (or x##_f64base and x##_f64avx2, behind dispatching wrappers), REAL =
 * float with FN(x) = x##_f32.  LSTM97_API is the storage class of the public kernels.  TANH names the matching libm function; the logistic
 * is lstm97_exp.h's.
 * Equation numbers are those of Hochreiter & Schmidhuber (1997); see docs/model.md.
 */

/* ---- activation functions (docs/model.md) --------------------------------------------- */

/* logistic sig(x) = 1 / (1 + e^-x), overflow-free for either sign of x: lstm97_exp.h
 * (evaluated in double, rounded for float) */
static inline REAL FN(sig)(REAL x)
{
    return (REAL)lstm97_sig((double)x);
}

/* out[i] = sig(in[i]) over an array (in == out allowed): the same values as FN(sig) */
static inline void FN(sig_array)(ptrdiff_t n, const REAL *in, REAL *out)
{
    if (sizeof(REAL) == sizeof(double)) {
        lstm97_sig_array(n, (const double *)in, (double *)out);
        return;
    }
    double buf[64];
    for (ptrdiff_t i = 0; i < n; i += 64) {
        ptrdiff_t m = n - i < 64 ? n - i : 64;
        for (ptrdiff_t k = 0; k < m; k++)
            buf[k] = (double)in[i + k];
        lstm97_sig_array(m, buf, buf);
        for (ptrdiff_t k = 0; k < m; k++)
            out[i + k] = (REAL)buf[k];
    }
}

/* y[k] = e^{y[k] - max} / sum_j e^{y[j] - max} in place over the K net inputs (softmax
 * output layer); exp in double.  Returns log sum_k e^{net_k} (for the cross-entropy). */
static inline double FN(softmax)(ptrdiff_t K, REAL *y)
{
    REAL top = y[0];
    for (ptrdiff_t k = 1; k < K; k++)
        top = y[k] > top ? y[k] : top;
    double sum = 0;
    for (ptrdiff_t k = 0; k < K; k++) {
        double e = exp((double)(y[k] - top));
        y[k] = (REAL)e;
        sum += e;
    }
    for (ptrdiff_t k = 0; k < K; k++)
        y[k] = (REAL)((double)y[k] / sum);
    return (double)top + log(sum);
}

/* output error e_k of one unit: f_out'(net_k) (t_k - y_k) (eq. 19), or t_k - y_k for
 * softmax with cross-entropy */
static inline REAL FN(out_error)(int out, REAL y, REAL t)
{
    if (out == LSTM97_OUT_SOFTMAX)
        return t - y;
    REAL fp = out == LSTM97_OUT_LINEAR ? (REAL)1 : y * ((REAL)1 - y);
    return fp * (t - y);
}

/* The squashing functions of cells, f(x) and f' written in terms of the value v = f(x):
 * g2 = 4 sig - 2 (range [-2, 2]), g1 = sig, tanh, h1 = 2 sig - 1 (range [-1, 1]), id. */
#ifndef LSTM97_SQUASH_IDS
#define LSTM97_SQUASH_IDS
enum { SQ_G2, SQ_G1, SQ_TANH, SQ_H1, SQ_ID };
#endif

static inline REAL FN(squash)(int f, REAL x)
{
    switch (f) {
    case SQ_G1:   return FN(sig)(x);
    case SQ_TANH: return TANH(x);
    case SQ_H1:   return (REAL)2 * FN(sig)(x) - (REAL)1;
    case SQ_ID:   return x;
    default:      return (REAL)4 * FN(sig)(x) - (REAL)2;
    }
}
static inline REAL FN(squash_prime)(int f, REAL v)
{
    switch (f) {
    case SQ_G1:   return v * ((REAL)1 - v);
    case SQ_TANH: return (REAL)1 - v * v;
    case SQ_H1:   return ((REAL)1 - v * v) * (REAL)0.5;
    case SQ_ID:   return (REAL)1;
    default:      return ((REAL)4 - v * v) * (REAL)0.25;
    }
}

/* v[i] = f(x_i) for a squash f built on sig, given v[i] = sig(x_i): the arithmetic of
 * FN(squash) after its sig */
static inline void FN(squash_from_sig)(int f, ptrdiff_t n, REAL *v)
{
    if (f == SQ_H1)
        for (ptrdiff_t i = 0; i < n; i++)
            v[i] = (REAL)2 * v[i] - (REAL)1;
    else if (f == SQ_G2)
        for (ptrdiff_t i = 0; i < n; i++)
            v[i] = (REAL)4 * v[i] - (REAL)2;
}

static inline int FN(squash_is_sig)(int f)
{
    return f == SQ_G1 || f == SQ_H1 || f == SQ_G2;
}

/* out[i] = f(in[i]) (in == out allowed): the same values as FN(squash) */
static inline void FN(squash_array)(int f, ptrdiff_t n, const REAL *in, REAL *out)
{
    if (FN(squash_is_sig)(f)) {
        FN(sig_array)(n, in, out);
        FN(squash_from_sig)(f, n, out);
    } else {
        for (ptrdiff_t i = 0; i < n; i++)
            out[i] = FN(squash)(f, in[i]);
    }
}

/* out[i] = f'(x_i) given v[i] = f(x_i): the values of FN(squash_prime), the choice of f
 * made once for the array */
static inline void FN(squash_prime_array)(int f, ptrdiff_t n, const REAL *v, REAL *out)
{
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = FN(squash_prime)(f, v[i]);
}

/* the squashing function of each lstm97_g / lstm97_h id */
static inline int FN(g_squash)(int kind)
{
    static const int f[] = {SQ_G2, SQ_G1, SQ_TANH, SQ_H1, SQ_ID};
    return f[kind];
}
static inline int FN(h_squash)(int kind)
{
    static const int f[] = {SQ_H1, SQ_ID, SQ_TANH, SQ_G2, SQ_G1};
    return f[kind];
}

/* cell input squash g and its derivative g'(net) written in terms of g = g(net) */
static inline REAL FN(g_of)(int kind, REAL x)
{
    return FN(squash)(FN(g_squash)(kind), x);
}
static inline REAL FN(g_prime)(int kind, REAL g)
{
    return FN(squash_prime)(FN(g_squash)(kind), g);
}

/* cell output squash h and h'(s) in terms of h = h(s) */
static inline REAL FN(h_of)(int kind, REAL x)
{
    return FN(squash)(FN(h_squash)(kind), x);
}
static inline REAL FN(h_prime)(int kind, REAL h)
{
    return FN(squash_prime)(FN(h_squash)(kind), h);
}

/* Every dot product of the kernels runs in one fixed order.  Short ones (n < 16) add the
 * terms in increasing m.  Longer ones take the order of a 4-lane vector loop: partial sums
 * s_l over the columns m = l (mod 4), each in increasing m, combined as
 * (s_0 + s_2) + (s_1 + s_3).  The plain kernel spells it out in scalars; the tuned mat-vec
 * runs the lanes in vector registers.  Same operations, same order: bitwise the same
 * result (the build passes -ffp-contract=off so that no a * b + c is fused). */
#define LSTM97_DOT_LANES_MIN 16

static inline REAL FN(dot)(const REAL *restrict a, const REAL *restrict b, ptrdiff_t n)
{
    if (n < LSTM97_DOT_LANES_MIN) {
        REAL acc = 0;
        for (ptrdiff_t m = 0; m < n; m++)
            acc += a[m] * b[m];
        return acc;
    }
    REAL s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    ptrdiff_t m = 0;
    for (; m + 4 <= n; m += 4) {
        s0 += a[m] * b[m];
        s1 += a[m + 1] * b[m + 1];
        s2 += a[m + 2] * b[m + 2];
        s3 += a[m + 3] * b[m + 3];
    }
    if (m < n)
        s0 += a[m] * b[m];
    if (m + 1 < n)
        s1 += a[m + 1] * b[m + 1];
    if (m + 2 < n)
        s2 += a[m + 2] * b[m + 2];
    return (s0 + s2) + (s1 + s3);
}

/* ---- buffer views ---------------------------------------------------------------------- */

typedef struct FN(lstm97_work_view) {
    REAL *u;        /* (nu)  output source vector u(t) = [1, x(t), y_c(t)] */
    REAL *y_in;     /* (B)   input-gate activations y_in(t) */
    REAL *y_out;    /* (B)   output-gate activations y_out(t) (1 without output gates) */
    REAL *g_c;      /* (C)   g(net_c(t)) */
    REAL *h_s;      /* (C)   h(s_c(t)) */
    REAL *y_c;      /* (C)   cell outputs y_c(t) */
    REAL *y_k;      /* (K)   output-unit activations */
    REAL *e_k;      /* (K)   output errors, eq. 19 */
    REAL *back_c;   /* (C)   sum_k W_k[k, cell c] e_k */
    REAL *e_s;      /* (C)   state errors, eq. 23 */
    REAL *e_out;    /* (B)   output-gate errors, eq. 21 */
    REAL *y_phi;    /* (B)   forget-gate activations y_phi(t) (NULL without forget gates) */
    REAL *s_prev;   /* (C)   s_c(t-1) (NULL without forget gates) */
    REAL *full;     /* (rows) 1 where a row of the mask has no 0 (step_fast skips it) */
    int32_t *idx;   /* (I) int32 in REAL slots: indices of the nonzero inputs (step_fast) */
} FN(lstm97_work_view);

static inline FN(lstm97_work_view) FN(work_view)(const lstm97_dims *d, const lstm97_layout *L,
                                                 REAL *w)
{
    FN(lstm97_work_view) v;
    ptrdiff_t B = d->B, C = L->C, K = d->K;
    v.u = w;          w += L->nu;
    v.y_in = w;       w += B;
    v.y_out = w;      w += B;
    v.g_c = w;        w += C;
    v.h_s = w;        w += C;
    v.y_c = w;        w += C;
    v.y_k = w;        w += K;
    v.e_k = w;        w += K;
    v.back_c = w;     w += C;
    v.e_s = w;        w += C;
    v.e_out = w;      w += B;
    v.y_phi = v.s_prev = NULL;
    if (d->forget_gate) {
        v.y_phi = w;  w += B;
    }
    if (d->forget_gate || d->peepholes) {
        v.s_prev = w; w += C;
    }
    v.full = w;       w += ((d->output_gate ? 2 : 1) + (d->forget_gate ? 1 : 0)) * B + C + K;
    v.idx = (int32_t *)(void *)w;
    return v;
}

/* full[r] = 1 if row r of the mask (rows in parameter-block order: W_in, W_out, W_c,
 * W_k) holds no 0, else 0. */
static void FN(mask_rows)(const lstm97_layout *L, const REAL *masks, REAL *full)
{
    ptrdiff_t end_k = L->P_in >= 0 ? L->P_in : L->n_params;     /* peepholes follow W_k */
    ptrdiff_t n_zrows = L->W_k / L->nz, n_rows = n_zrows + (end_k - L->W_k) / L->nu;
    for (ptrdiff_t r = 0; r < n_rows; r++) {
        ptrdiff_t off = r < n_zrows ? r * L->nz : L->W_k + (r - n_zrows) * L->nu;
        ptrdiff_t len = r < n_zrows ? L->nz : L->nu;
        int all = 1;
        for (ptrdiff_t m = 0; m < len; m++)
            all &= masks[off + m] == (REAL)1;
        full[r] = (REAL)all;
    }
}

/* sum_{c in block j} P[c] s[c]: a peephole input of block j */
static inline REAL FN(peep)(const REAL *P, const REAL *s, ptrdiff_t j, ptrdiff_t S)
{
    REAL acc = 0;
    for (ptrdiff_t c = j * S; c < (j + 1) * S; c++)
        acc += P[c] * s[c];
    return acc;
}

/* ---- one step, plain scalar reference (docs/model.md) -----------------------------------
 * Kept beside the tuned step_fast below and tested against it (dims.kernel = 1 selects
 * it).  The forward pass of step t, then (modes LEARN/ACCUMULATE) the trace update with z(t),
 * then (with a target) errors and weight updates, then z's recurrent part becomes
 * [y_c(t), y_in(t), y_out(t)] for step t+1.  `P` receives the updates: params (LEARN) or
 * dW (ACCUMULATE). */
static int FN(step_naive)(const lstm97_dims *d, const lstm97_layout *L,
                         REAL *params, const REAL *masks,
                         const REAL *x_t, const REAL *t_t, REAL alpha, int mode,
                         REAL *y_t, REAL *state, REAL *work, REAL *dW)
{
    const ptrdiff_t I = d->I, K = d->K, B = d->B, S = d->S;
    const ptrdiff_t C = L->C, nz = L->nz, nu = L->nu;
    const REAL *W_in = params + L->W_in;
    const REAL *W_out = d->output_gate ? params + L->W_out : NULL;
    const REAL *W_phi = d->forget_gate ? params + L->W_phi : NULL;
    const REAL *W_c = params + L->W_c;
    const REAL *W_k = params + L->W_k;
    const REAL *P_in = L->P_in >= 0 ? params + L->P_in : NULL;      /* peepholes (C) */
    const REAL *P_phi = L->P_phi >= 0 ? params + L->P_phi : NULL;
    const REAL *P_out = L->P_out >= 0 ? params + L->P_out : NULL;

    REAL *z = state;                 /* (nz) */
    REAL *s = z + nz;                /* (C) */
    REAL *dS_c = s + C;              /* (C, nz) */
    REAL *dS_in = dS_c + C * nz;     /* (C, nz) */
    REAL *dS_phi = W_phi ? dS_in + C * nz : NULL;   /* (C, nz) with forget gates */
    REAL *dS_in_P = (W_phi ? dS_phi : dS_in) + C * nz;   /* (C, S) with peepholes */
    REAL *dS_phi_P = dS_in_P + C * S;                    /* (C, S) with both */
    FN(lstm97_work_view) v = FN(work_view)(d, L, work);

    /* z(t) = [1, x(t), y_c(t-1), y_in(t-1), y_out(t-1), y_phi(t-1)] */
    z[0] = 1;
    for (ptrdiff_t i = 0; i < I; i++)
        z[1 + i] = x_t[i];

    /* gates: y_in = f(W_in z), y_out = f(W_out z) */
    for (ptrdiff_t j = 0; j < B; j++) {
        if (P_in)             /* peepholes: the input and forget gates see s(t-1) */
            v.y_in[j] = FN(sig)(FN(dot)(W_in + j * nz, z, nz) + FN(peep)(P_in, s, j, S));
        else
            v.y_in[j] = FN(sig)(FN(dot)(W_in + j * nz, z, nz));
        v.y_out[j] = W_out ? FN(sig)(FN(dot)(W_out + j * nz, z, nz)) : (REAL)1;
        if (W_phi && P_phi)
            v.y_phi[j] = FN(sig)(FN(dot)(W_phi + j * nz, z, nz) + FN(peep)(P_phi, s, j, S));
        else if (W_phi)
            v.y_phi[j] = FN(sig)(FN(dot)(W_phi + j * nz, z, nz));
    }
    /* cells: s_c(t) = s_c(t-1) + y_in_j g(net_c); y_c = y_out_j h(s_c)   (CEC, weight 1.0);
       with a forget gate s_c(t) = y_phi_j s_c(t-1) + y_in_j g(net_c) */
    for (ptrdiff_t c = 0; c < C; c++) {
        ptrdiff_t j = c / S;
        v.g_c[c] = FN(g_of)(d->g, FN(dot)(W_c + c * nz, z, nz));
        if (v.s_prev)
            v.s_prev[c] = s[c];
        if (W_phi)
            s[c] = v.y_phi[j] * s[c] + v.y_in[j] * v.g_c[c];
        else
            s[c] += v.y_in[j] * v.g_c[c];
        v.h_s[c] = FN(h_of)(d->h, s[c]);
        v.y_c[c] = v.y_out[j] * v.h_s[c];
    }
    /* the output gate's peephole sees the new state s(t): y_out and y_c again */
    for (ptrdiff_t j = 0; P_out && j < B; j++) {
        v.y_out[j] = FN(sig)(FN(dot)(W_out + j * nz, z, nz) + FN(peep)(P_out, s, j, S));
        for (ptrdiff_t c = j * S; c < (j + 1) * S; c++)
            v.y_c[c] = v.y_out[j] * v.h_s[c];
    }
    /* output units read u(t) = [1, x(t), y_c(t)] */
    v.u[0] = 1;
    for (ptrdiff_t i = 0; i < I; i++)
        v.u[1 + i] = x_t[i];
    for (ptrdiff_t c = 0; c < C; c++)
        v.u[1 + I + c] = v.y_c[c];
    int finite = 1;
    for (ptrdiff_t k = 0; k < K; k++) {
        REAL net_k = FN(dot)(W_k + k * nu, v.u, nu);
        v.y_k[k] = d->out == LSTM97_OUT_LOGISTIC ? FN(sig)(net_k) : net_k;
    }
    if (d->out == LSTM97_OUT_SOFTMAX)
        FN(softmax)(K, v.y_k);
    for (ptrdiff_t k = 0; k < K; k++) {
        y_t[k] = v.y_k[k];
        finite &= isfinite(v.y_k[k]) != 0;
    }
    for (ptrdiff_t c = 0; c < C; c++)
        finite &= isfinite(s[c]) != 0;

    if (mode != LSTM97_FORWARD) {
        /* traces, eqs. 27 and 25 (y_phi = 1): dS += coef * z(t) */
        for (ptrdiff_t c = 0; c < C; c++) {
            ptrdiff_t j = c / S;
            REAL a = FN(g_prime)(d->g, v.g_c[c]) * v.y_in[j];
            REAL b = v.g_c[c] * (v.y_in[j] * ((REAL)1 - v.y_in[j]));
            REAL *restrict dc = dS_c + c * nz;
            REAL *restrict di = dS_in + c * nz;
            if (W_phi) {
                /* forget gate: every trace decays by y_phi; dS_phi driven by s_c(t-1) */
                REAL phi = v.y_phi[j];
                REAL p = v.s_prev[c] * (phi * ((REAL)1 - phi));
                REAL *restrict df = dS_phi + c * nz;
                for (ptrdiff_t m = 0; m < nz; m++) {
                    dc[m] = phi * dc[m] + a * z[m];
                    di[m] = phi * di[m] + b * z[m];
                    df[m] = phi * df[m] + p * z[m];
                }
                continue;
            }
            for (ptrdiff_t m = 0; m < nz; m++) {
                dc[m] += a * z[m];
                di[m] += b * z[m];
            }
        }
        /* peephole traces: sources s_c'(t-1) of the cells c' of the block */
        for (ptrdiff_t c = 0; P_in && c < C; c++) {
            ptrdiff_t j = c / S;
            REAL phi = W_phi ? v.y_phi[j] : (REAL)1;
            REAL b = v.g_c[c] * (v.y_in[j] * ((REAL)1 - v.y_in[j]));
            REAL p = W_phi ? v.s_prev[c] * (phi * ((REAL)1 - phi)) : (REAL)0;
            const REAL *src = v.s_prev + j * S;
            for (ptrdiff_t q = 0; q < S; q++) {
                dS_in_P[c * S + q] = phi * dS_in_P[c * S + q] + b * src[q];
                if (P_phi)
                    dS_phi_P[c * S + q] = phi * dS_phi_P[c * S + q] + p * src[q];
            }
        }
        if (t_t) {
            REAL *P = mode == LSTM97_LEARN ? params : dW;
            const REAL *M = masks;
            /* e_k = f_out'(net_k) (t_k - y_k), eq. 19 (softmax: t_k - y_k) */
            for (ptrdiff_t k = 0; k < K; k++)
                v.e_k[k] = FN(out_error)(d->out, v.y_k[k], t_t[k]);
            /* back_c = sum_k W_k[k, 1+I+c] e_k (weights of this step's forward pass) */
            for (ptrdiff_t c = 0; c < C; c++)
                v.back_c[c] = 0;
            for (ptrdiff_t k = 0; k < K; k++) {
                const REAL *wk = W_k + k * nu + 1 + I;
                for (ptrdiff_t c = 0; c < C; c++)
                    v.back_c[c] += wk[c] * v.e_k[k];
            }
            /* e_out_j = f'(net_out_j) sum_{c in j} h(s_c) back_c, eq. 21
               e_s_c   = y_out_j h'(s_c) back_c,                 eq. 23 */
            for (ptrdiff_t j = 0; j < B; j++) {
                REAL acc = 0;
                for (ptrdiff_t c = j * S; c < (j + 1) * S; c++) {
                    acc += v.h_s[c] * v.back_c[c];
                    v.e_s[c] = v.y_out[j] * FN(h_prime)(d->h, v.h_s[c]) * v.back_c[c];
                }
                v.e_out[j] = v.y_out[j] * ((REAL)1 - v.y_out[j]) * acc;
            }
            /* dW_k[k] = alpha e_k u(t), eq. 22 */
            for (ptrdiff_t k = 0; k < K; k++) {
                REAL ae = alpha * v.e_k[k];
                REAL *restrict p = P + L->W_k + k * nu;
                const REAL *restrict mk = M + L->W_k + k * nu;
                for (ptrdiff_t m = 0; m < nu; m++)
                    p[m] += ae * v.u[m] * mk[m];
            }
            /* dW_out[j] = alpha e_out_j z(t), eq. 22 */
            if (W_out) {
                for (ptrdiff_t j = 0; j < B; j++) {
                    REAL ae = alpha * v.e_out[j];
                    REAL *restrict p = P + L->W_out + j * nz;
                    const REAL *restrict mk = M + L->W_out + j * nz;
                    for (ptrdiff_t m = 0; m < nz; m++)
                        p[m] += ae * z[m] * mk[m];
                }
            }
            /* dW_c[c] = alpha e_s_c dS_c[c], eq. 28 */
            for (ptrdiff_t c = 0; c < C; c++) {
                REAL ae = alpha * v.e_s[c];
                REAL *restrict p = P + L->W_c + c * nz;
                const REAL *restrict mk = M + L->W_c + c * nz;
                const REAL *restrict dc = dS_c + c * nz;
                for (ptrdiff_t m = 0; m < nz; m++)
                    p[m] += ae * dc[m] * mk[m];
            }
            /* dW_in[j] = alpha sum_{c in j} e_s_c dS_in[c], eq. 26 (one cell at a time) */
            for (ptrdiff_t j = 0; j < B; j++) {
                REAL *restrict p = P + L->W_in + j * nz;
                const REAL *restrict mk = M + L->W_in + j * nz;
                for (ptrdiff_t c = j * S; c < (j + 1) * S; c++) {
                    REAL ae = alpha * v.e_s[c];
                    const REAL *restrict di = dS_in + c * nz;
                    for (ptrdiff_t m = 0; m < nz; m++)
                        p[m] += ae * di[m] * mk[m];
                }
            }
            /* peepholes: dP_out[c] = alpha e_out_j s_c(t); dP_in[c'] = alpha
               sum_{c in j} e_s_c dS_in_P[c, c'] (likewise P_phi) */
            for (ptrdiff_t c = 0; P_out && c < C; c++)
                P[L->P_out + c] += alpha * v.e_out[c / S] * s[c] * M[L->P_out + c];
            for (ptrdiff_t c = 0; P_in && c < C; c++) {
                ptrdiff_t j = c / S;
                REAL ae = alpha * v.e_s[c];
                for (ptrdiff_t q = 0; q < S; q++) {
                    ptrdiff_t r = j * S + q;
                    P[L->P_in + r] += ae * dS_in_P[c * S + q] * M[L->P_in + r];
                    if (P_phi)
                        P[L->P_phi + r] += ae * dS_phi_P[c * S + q] * M[L->P_phi + r];
                }
            }
            /* dW_phi[j] = alpha sum_{c in j} e_s_c dS_phi[c] (one cell at a time) */
            for (ptrdiff_t j = 0; W_phi && j < B; j++) {
                REAL *restrict p = P + L->W_phi + j * nz;
                const REAL *restrict mk = M + L->W_phi + j * nz;
                for (ptrdiff_t c = j * S; c < (j + 1) * S; c++) {
                    REAL ae = alpha * v.e_s[c];
                    const REAL *restrict df = dS_phi + c * nz;
                    for (ptrdiff_t m = 0; m < nz; m++)
                        p[m] += ae * df[m] * mk[m];
                }
            }
        }
    }

    /* recurrent part of z(t+1): y_c(t), y_in(t), y_out(t) (y_c(t) only with "cells"
       sources) */
    for (ptrdiff_t c = 0; c < C; c++)
        z[1 + I + c] = v.y_c[c];
    if (d->sources == LSTM97_SOURCES_FULL)
        for (ptrdiff_t j = 0; j < B; j++) {
            z[1 + I + C + j] = v.y_in[j];
            if (d->output_gate)
                z[1 + I + C + B + j] = v.y_out[j];
            if (W_phi)
                z[1 + I + C + (d->output_gate ? 2 : 1) * B + j] = v.y_phi[j];
        }
    return finite ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}

/* A 16-byte vector of REAL (an SSE2 register on x86-64; GCC and Clang lower it to what the
 * target has): 2 lanes for double, 4 for float.  The typedef's alignment is that of REAL,
 * so a load from any column is allowed. */
typedef REAL FN(vreg) __attribute__((vector_size(16), aligned(sizeof(REAL))));
#define NL_ ((ptrdiff_t)(16 / sizeof(REAL)))      /* lanes per vreg */

/* out[r] = W[r, :] . v for r < R, each sum in the order of FN(dot): four rows at a time;
 * the four partial sums of a row are lanes of 4 / NL_ vector registers (lane l of
 * register k holds s_{k NL_ + l}).  The last n mod 4 columns go to the scalar sums. */
static inline void FN(matvec)(const REAL *restrict W, const REAL *restrict v,
                              ptrdiff_t R, ptrdiff_t n, REAL *restrict out)
{
    typedef FN(vreg) vreg;
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
        vreg a[4][4 / NL_];
        for (int q = 0; q < 4; q++)
            for (int k = 0; k < 4 / NL_; k++)
                a[q][k] = (vreg){0};
        for (ptrdiff_t m = 0; m < n4; m += 4) {
            for (int k = 0; k < 4 / NL_; k++) {
                vreg vm = *(const vreg *)(v + m + k * NL_);
                for (int q = 0; q < 4; q++)
                    a[q][k] += *(const vreg *)(w[q] + m + k * NL_) * vm;
            }
        }
        for (int q = 0; q < 4; q++) {
            REAL s4[4];
            for (int k = 0; k < 4 / NL_; k++)
                for (ptrdiff_t l = 0; l < NL_; l++)
                    s4[k * NL_ + l] = a[q][k][l];
            for (ptrdiff_t l = 0; l < n - n4; l++)        /* l < 3 */
                s4[l] += w[q][n4 + l] * v[n4 + l];
            out[r + q] = (s4[0] + s4[2]) + (s4[1] + s4[3]);
        }
    }
    for (; r < R; r++)
        out[r] = FN(dot)(W + r * n, v, n);
}
/* The inner loops of the trace pass and of the updates, element by element the same
 * operations as the plain kernel's loops, the lanes spelled out in vector registers (so
 * that they do not depend on the compiler's auto-vectoriser, which the build keeps to its
 * "very cheap" model: its prologues and epilogues cost more than they save on the short
 * rows of the paper's nets).  dc, di: trace rows of dS_c[c] and dS_in[c]; pc, pi: the
 * rows of W_c[c] and W_in[block(c)] in P (params or dW); mc, mi: their mask rows. */
#define VL_(p) (*(const FN(vreg) *)(const void *)(p))
#define VS_(p) (*(FN(vreg) *)(void *)(p))

static inline void FN(traces_only)(ptrdiff_t n, REAL a, REAL b, const REAL *restrict z,
                                   REAL *restrict dc, REAL *restrict di)
{
    typedef FN(vreg) vreg;
    const vreg va = (vreg){0} + a, vb = (vreg){0} + b;
    ptrdiff_t m = 0;
    for (; m + NL_ <= n; m += NL_) {
        vreg zm = VL_(z + m);
        VS_(dc + m) = VL_(dc + m) + va * zm;
        VS_(di + m) = VL_(di + m) + vb * zm;
    }
    for (; m < n; m++) {
        dc[m] += a * z[m];
        di[m] += b * z[m];
    }
}

/* traces_update(_masked): the trace update fused with the updates of W_c and W_in; with
 * `masked` (a constant after inlining) the updates are multiplied by the mask rows */
/* traces_only for cells c and c + 1 (rows dc, dc + n and di, di + n) in one pass over z */
static inline void FN(traces_only2)(ptrdiff_t n, REAL a0, REAL b0, REAL a1, REAL b1,
                                    const REAL *restrict z, REAL *restrict dc,
                                    REAL *restrict di)
{
    typedef FN(vreg) vreg;
    const vreg va0 = (vreg){0} + a0, vb0 = (vreg){0} + b0;
    const vreg va1 = (vreg){0} + a1, vb1 = (vreg){0} + b1;
    REAL *restrict dc1 = dc + n, *restrict di1 = di + n;
    ptrdiff_t m = 0;
    for (; m + NL_ <= n; m += NL_) {
        vreg zm = VL_(z + m);
        VS_(dc + m) = VL_(dc + m) + va0 * zm;
        VS_(di + m) = VL_(di + m) + vb0 * zm;
        VS_(dc1 + m) = VL_(dc1 + m) + va1 * zm;
        VS_(di1 + m) = VL_(di1 + m) + vb1 * zm;
    }
    for (; m < n; m++) {
        dc[m] += a0 * z[m];
        di[m] += b0 * z[m];
        dc1[m] += a1 * z[m];
        di1[m] += b1 * z[m];
    }
}

static inline void FN(traces_update_impl)(ptrdiff_t n, REAL a, REAL b, REAL ae,
                                          const REAL *restrict z, REAL *restrict dc,
                                          REAL *restrict di, REAL *restrict pc,
                                          REAL *restrict pi, const REAL *restrict mc,
                                          const REAL *restrict mi, const int masked)
{
    typedef FN(vreg) vreg;
    const vreg va = (vreg){0} + a, vb = (vreg){0} + b, vae = (vreg){0} + ae;
    ptrdiff_t m = 0;
    for (; m + NL_ <= n; m += NL_) {
        vreg zm = VL_(z + m);
        vreg tc = VL_(dc + m) + va * zm;
        vreg ti = VL_(di + m) + vb * zm;
        VS_(dc + m) = tc;
        VS_(di + m) = ti;
        VS_(pc + m) = VL_(pc + m) + (masked ? vae * tc * VL_(mc + m) : vae * tc);
        VS_(pi + m) = VL_(pi + m) + (masked ? vae * ti * VL_(mi + m) : vae * ti);
    }
    for (; m < n; m++) {
        REAL tc = dc[m] + a * z[m];
        REAL ti = di[m] + b * z[m];
        dc[m] = tc;
        di[m] = ti;
        pc[m] += masked ? ae * tc * mc[m] : ae * tc;
        pi[m] += masked ? ae * ti * mi[m] : ae * ti;
    }
}

static inline void FN(traces_update)(ptrdiff_t n, REAL a, REAL b, REAL ae,
                                     const REAL *restrict z, REAL *restrict dc,
                                     REAL *restrict di, REAL *restrict pc, REAL *restrict pi)
{
    FN(traces_update_impl)(n, a, b, ae, z, dc, di, pc, pi, NULL, NULL, 0);
}

static inline void FN(traces_update_masked)(ptrdiff_t n, REAL a, REAL b, REAL ae,
                                            const REAL *restrict z, REAL *restrict dc,
                                            REAL *restrict di, REAL *restrict pc,
                                            REAL *restrict pi, const REAL *restrict mc,
                                            const REAL *restrict mi)
{
    FN(traces_update_impl)(n, a, b, ae, z, dc, di, pc, pi, mc, mi, 1);
}

/* p += ae * v (optionally masked) */
static inline void FN(axpy)(ptrdiff_t n, REAL ae, const REAL *restrict v, REAL *restrict p)
{
    typedef FN(vreg) vreg;
    const vreg vae = (vreg){0} + ae;
    ptrdiff_t m = 0;
    for (; m + NL_ <= n; m += NL_)
        VS_(p + m) = VL_(p + m) + vae * VL_(v + m);
    for (; m < n; m++)
        p[m] += ae * v[m];
}

static inline void FN(axpy_masked)(ptrdiff_t n, REAL ae, const REAL *restrict v,
                                   REAL *restrict p, const REAL *restrict mk)
{
    typedef FN(vreg) vreg;
    const vreg vae = (vreg){0} + ae;
    ptrdiff_t m = 0;
    for (; m + NL_ <= n; m += NL_)
        VS_(p + m) = VL_(p + m) + vae * VL_(v + m) * VL_(mk + m);
    for (; m < n; m++)
        p[m] += ae * v[m] * mk[m];
}
#undef VL_
#undef VS_
#undef NL_

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

/* ---- one step, tuned ----------------------------------------------------------------------
 * The same arithmetic as step_naive, in the same order for every sum, reorganised:
 * the net inputs of all gates and cells come from one blocked matrix-vector product over
 * the contiguous rows W_in, W_out, W_c; the errors are computed before the traces, so
 * that the trace update (eqs. 25, 27) and the weight updates (eqs. 26, 28) share one pass
 * over each trace row. */
static int FN(step_fast)(const lstm97_dims *d, const lstm97_layout *L,
                         REAL *params, const REAL *masks,
                         const REAL *x_t, const REAL *t_t, REAL alpha, int mode,
                         REAL *y_t, REAL *state, REAL *work, REAL *dW)
{
    const ptrdiff_t I = d->I, K = d->K, B = d->B, S = d->S;
    const ptrdiff_t C = L->C, nz = L->nz, nu = L->nu;
    const int has_out = d->output_gate;
    const REAL *W_k = params + L->W_k;
    const ptrdiff_t row_c = (has_out ? 2 : 1) * B, row_k = row_c + C;   /* rows of full */

    REAL *z = state;                 /* (nz) */
    REAL *s = z + nz;                /* (C) */
    REAL *dS_c = s + C;              /* (C, nz) */
    REAL *dS_in = dS_c + C * nz;     /* (C, nz) */
    FN(lstm97_work_view) v = FN(work_view)(d, L, work);
    /* net inputs land in the activation buffers, which are contiguous in work:
       y_in (B), y_out (B), g_c (C) */
    REAL *net = v.y_in;

    z[0] = 1;
    for (ptrdiff_t i = 0; i < I; i++)
        z[1 + i] = x_t[i];

    /* sparse inputs: list the nonzero x (inputs of one-hot tasks) */
    FN(lstm97_cols) cols = {0, v.idx, 1 + I};
    int sparse = 0;
    if (I >= LSTM97_SPARSE_MIN_I) {
        ptrdiff_t nnz = 0;
        for (ptrdiff_t i = 0; i < I; i++)
            if (x_t[i] != 0)
                v.idx[nnz++] = (int32_t)i;
        cols.nnz = nnz;
        sparse = 4 * nnz <= I;
    }

    /* net_in, net_out, net_c: rows W_in, W_out, W_c are consecutive in params */
    if (sparse) {
        const ptrdiff_t R = (has_out ? 2 : 1) * B + C;
        const REAL *W = params + L->W_in;
        REAL *out = has_out ? net : NULL;
        for (ptrdiff_t r = 0; r < R; r++) {
            REAL a = FN(sp_dot)(W + r * nz, z, &cols, nz);
            if (out)
                out[r] = a;
            else if (r < B)
                v.y_in[r] = a;
            else
                v.g_c[r - B] = a;
        }
    } else if (has_out) {
        FN(matvec)(params + L->W_in, z, 2 * B + C, nz, net);
    } else {
        FN(matvec)(params + L->W_in, z, B, nz, v.y_in);
        FN(matvec)(params + L->W_c, z, C, nz, v.g_c);
    }
    /* activations over whole arrays (two logistics at a time): the gates y_in, y_out and,
       when g is built on sig, the cell inputs g_c in one pass over the contiguous net */
    const int f_g = FN(g_squash)(d->g);
    if (has_out && FN(squash_is_sig)(f_g)) {
        FN(sig_array)(2 * B + C, net, net);
        FN(squash_from_sig)(f_g, C, v.g_c);
    } else {
        FN(sig_array)(has_out ? 2 * B : B, v.y_in, v.y_in);
        if (!has_out)
            for (ptrdiff_t j = 0; j < B; j++)
                v.y_out[j] = 1;
        FN(squash_array)(f_g, C, v.g_c, v.g_c);
    }
    for (ptrdiff_t j = 0, c = 0; j < B; j++)
        for (ptrdiff_t q = 0; q < S; q++, c++)
            s[c] += v.y_in[j] * v.g_c[c];
    FN(squash_array)(FN(h_squash)(d->h), C, s, v.h_s);
    for (ptrdiff_t j = 0, c = 0; j < B; j++)
        for (ptrdiff_t q = 0; q < S; q++, c++)
            v.y_c[c] = v.y_out[j] * v.h_s[c];
    v.u[0] = 1;
    for (ptrdiff_t i = 0; i < I; i++)
        v.u[1 + i] = x_t[i];
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
            if (has_out) {
                for (ptrdiff_t j = 0; j < B; j++) {
                    REAL ae = alpha * v.e_out[j];
                    REAL *p = P + L->W_out + j * nz;
                    const REAL *mk = v.full[B + j] != 0 ? NULL : M + L->W_out + j * nz;
                    if (sparse)
                        FN(sp_axpy)(nz, ae, z, p, mk, &cols);
                    else if (!mk)
                        FN(axpy)(nz, ae, z, p);
                    else
                        FN(axpy_masked)(nz, ae, z, p, mk);
                }
            }
        }
        /* traces (eqs. 27, 25) fused with the updates of W_c (eq. 28) and W_in (eq. 26);
           without a target and dense inputs, two cells of a block per pass over z, g'
           of every cell first (into e_s, which a step without a target does not use) */
        if (!learn && !sparse) {
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
        } else
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
                } else {
                    REAL ae = alpha * v.e_s[c];
                    REAL *pc = P + L->W_c + c * nz;
                    REAL *pi = P + L->W_in + j * nz;
                    if (v.full[row_c + c] != 0 && v.full[j] != 0)
                        FN(traces_update)(nz, a, b, ae, z, dc, di, pc, pi);
                    else
                        FN(traces_update_masked)(nz, a, b, ae, z, dc, di, pc, pi,
                                                 M + L->W_c + c * nz, M + L->W_in + j * nz);
                }
            }
        }
    }

    for (ptrdiff_t c = 0; c < C; c++)
        z[1 + I + c] = v.y_c[c];
    if (d->sources == LSTM97_SOURCES_FULL)
        for (ptrdiff_t j = 0; j < B; j++) {
            z[1 + I + C + j] = v.y_in[j];
            if (has_out)
                z[1 + I + C + B + j] = v.y_out[j];
        }
    return finite ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}

/* the step of the kernel variant chosen in dims */
static inline int FN(step_core)(const lstm97_dims *d, const lstm97_layout *L,
                                REAL *params, const REAL *masks,
                                const REAL *x_t, const REAL *t_t, REAL alpha, int mode,
                                REAL *y_t, REAL *state, REAL *work, REAL *dW)
{
    /* the forget gate and peepholes have no tuned step yet: the plain one computes them */
    if (d->kernel == LSTM97_KERNEL_NAIVE || d->forget_gate || d->peepholes)
        return FN(step_naive)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state, work, dW);
    return FN(step_fast)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state, work, dW);
}

/* ---- public kernels ---------------------------------------------------------------------- */

LSTM97_API int FN(lstm97_all_finite)(ptrdiff_t n, const REAL *v)
{
    /* x * 0 is 0 for finite x and NaN for Inf or NaN; a sum keeps any NaN.  Four
       independent sums of vector lanes (the order does not matter here): a single chain
       of dependent additions would take 3-4 cycles per value. */
    typedef FN(vreg) vreg;
    const ptrdiff_t nl = (ptrdiff_t)(sizeof(vreg) / sizeof(REAL));
    vreg a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    ptrdiff_t i = 0;
    for (; i + 4 * nl <= n; i += 4 * nl) {
        a0 += *(const vreg *)(const void *)(v + i) * (REAL)0;
        a1 += *(const vreg *)(const void *)(v + i + nl) * (REAL)0;
        a2 += *(const vreg *)(const void *)(v + i + 2 * nl) * (REAL)0;
        a3 += *(const vreg *)(const void *)(v + i + 3 * nl) * (REAL)0;
    }
    vreg a = (a0 + a1) + (a2 + a3);
    REAL acc = 0;
    for (ptrdiff_t l = 0; l < nl; l++)
        acc += a[l];
    for (; i < n; i++)
        acc += v[i] * (REAL)0;
    return acc == 0;
}

LSTM97_API int FN(lstm97_reset)(const lstm97_dims *d, REAL *state)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (!state)
        return LSTM97_ERR_NULL;
    memset(state, 0, (size_t)L.state_len * sizeof(REAL));
    return LSTM97_OK;
}

LSTM97_API int FN(lstm97_step)(const lstm97_dims *d, REAL *params, const REAL *masks,
                    const REAL *x_t, const REAL *t_t, double alpha, int mode,
                    REAL *y_t, REAL *state, REAL *work, REAL *dW)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (mode != LSTM97_FORWARD && mode != LSTM97_LEARN && mode != LSTM97_ACCUMULATE)
        return LSTM97_ERR_SCHEDULE;
    if (!params || !x_t || !y_t || !state || !work)
        return LSTM97_ERR_NULL;
    if (mode != LSTM97_FORWARD && !masks)
        return LSTM97_ERR_NULL;
    if (mode == LSTM97_ACCUMULATE && !dW)
        return LSTM97_ERR_NULL;
    if (mode != LSTM97_FORWARD && !isfinite(alpha))
        return LSTM97_ERR_ALPHA;
    if (mode != LSTM97_FORWARD && t_t)
        FN(mask_rows)(&L, masks, FN(work_view)(d, &L, work).full);
    rc = FN(step_core)(d, &L, params, masks, x_t, t_t, (REAL)alpha, mode,
                       y_t, state, work, dW);
    if (rc == LSTM97_OK && mode == LSTM97_LEARN && t_t &&
        !FN(lstm97_all_finite)(L.n_params, params))
        rc = LSTM97_ERR_NONFINITE;
    return rc;
}

/* T steps from the current state; in a learning mode stop at the first non-finite value */
static int FN(run_core)(const lstm97_dims *d, const lstm97_layout *L, REAL *params,
                        const REAL *masks, const REAL *x, const REAL *t,
                        const uint8_t *tmask, int64_t T, REAL alpha, int mode, REAL *y,
                        REAL *state, REAL *work, REAL *dW)
{
    int status = LSTM97_OK;
    lstm97_poller poll = lstm97_poller_start();
    const int64_t units = L->n_params + (mode != LSTM97_FORWARD ? L->state_len : L->nz + L->C);
    if (mode != LSTM97_FORWARD)
        FN(mask_rows)(L, masks, FN(work_view)(d, L, work).full);
    for (int64_t s = 0; s < T; s++) {
        const REAL *t_s = (mode != LSTM97_FORWARD && (!tmask || tmask[s])) ? t + s * d->K : NULL;
        int rc = FN(step_core)(d, L, params, masks, x + s * d->I, t_s, alpha, mode,
                               y + s * d->K, state, work, dW);
        if (rc != LSTM97_OK) {
            status = rc;
            if (mode != LSTM97_FORWARD)
                return rc;   /* the caller restores its copy of the parameters */
        }
        if (lstm97_poller_tick(&poll, units))
            return LSTM97_ERR_INTERRUPTED;
    }
    if (mode == LSTM97_LEARN && !FN(lstm97_all_finite)(L->n_params, params))
        return LSTM97_ERR_NONFINITE;
    return status;
}

LSTM97_API int FN(lstm97_forward)(const lstm97_dims *d, const REAL *params,
                       const REAL *x, int64_t T, REAL *y, REAL *state, REAL *work)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (!params || !x || !y || !state || !work)
        return LSTM97_ERR_NULL;
    if (T < 1)
        return LSTM97_ERR_LENGTH;
    memset(state, 0, (size_t)L.state_len * sizeof(REAL));
    /* FORWARD mode never writes params */
    return FN(run_core)(d, &L, (REAL *)params, NULL, x, NULL, NULL, T, 0, LSTM97_FORWARD,
                        y, state, work, NULL);
}

LSTM97_API int FN(lstm97_run)(const lstm97_dims *d, REAL *params, const REAL *masks,
                   const REAL *x, const REAL *t, const uint8_t *tmask, int64_t T,
                   double alpha, int mode, REAL *y, REAL *state, REAL *work, REAL *dW)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (mode != LSTM97_FORWARD && mode != LSTM97_LEARN && mode != LSTM97_ACCUMULATE)
        return LSTM97_ERR_SCHEDULE;
    if (!params || !x || !y || !state || !work)
        return LSTM97_ERR_NULL;
    if (mode != LSTM97_FORWARD && (!masks || !t))
        return LSTM97_ERR_NULL;
    if (mode == LSTM97_ACCUMULATE && !dW)
        return LSTM97_ERR_NULL;
    if (T < 1)
        return LSTM97_ERR_LENGTH;
    if (mode != LSTM97_FORWARD && !isfinite(alpha))
        return LSTM97_ERR_ALPHA;
    return FN(run_core)(d, &L, params, masks, x, t, tmask, T, (REAL)alpha, mode, y, state,
                        work, dW);
}

LSTM97_API int FN(lstm97_apply)(const lstm97_dims *d, REAL *params, REAL *dW)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (!params || !dW)
        return LSTM97_ERR_NULL;
    for (ptrdiff_t i = 0; i < L.n_params; i++) {
        params[i] += dW[i];
        dW[i] = 0;
    }
    return FN(lstm97_all_finite)(L.n_params, params) ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}

LSTM97_API int FN(lstm97_train)(const lstm97_dims *d, REAL *params, const REAL *masks,
                     const REAL *x, const REAL *t, const uint8_t *tmask, int64_t T,
                     double alpha, int schedule, REAL *y,
                     REAL *state, REAL *work, REAL *dW)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (!params || !masks || !x || !t || !y || !state || !work)
        return LSTM97_ERR_NULL;
    if (T < 1)
        return LSTM97_ERR_LENGTH;
    if (schedule != LSTM97_STEP && schedule != LSTM97_SEQUENCE)
        return LSTM97_ERR_SCHEDULE;
    if (schedule == LSTM97_SEQUENCE && !dW)
        return LSTM97_ERR_NULL;
    if (!isfinite(alpha))
        return LSTM97_ERR_ALPHA;

    int mode = schedule == LSTM97_STEP ? LSTM97_LEARN : LSTM97_ACCUMULATE;
    memset(state, 0, (size_t)L.state_len * sizeof(REAL));
    if (mode == LSTM97_ACCUMULATE)
        memset(dW, 0, (size_t)L.n_params * sizeof(REAL));
    rc = FN(run_core)(d, &L, params, masks, x, t, tmask, T, (REAL)alpha, mode, y, state,
                      work, dW);
    if (rc != LSTM97_OK || mode == LSTM97_LEARN)
        return rc;
    return FN(lstm97_apply)(d, params, dW);
}

/* ---- back-propagation through time (the reverse-mode reference) ----------------------------
 * Record of step t on the tape: z(t) (nz), y_in (B), y_out (B), g_c (C), s_c (C), h(s_c)
 * (C), and y_phi (B) with forget gates.  Then, after the T records, scratch: u (nu),
 * d_net_k (K), d_y_c (C), d_s (C), d_net_c (C), d_net_in (B), d_net_out (B), d_z (nz, the
 * error reaching z(t + 1)), and d_net_phi (B) with forget gates. */
LSTM97_API int FN(lstm97_gradient)(const lstm97_dims *d, const REAL *params, const REAL *masks,
                        const REAL *x, const REAL *t, const uint8_t *tmask, int64_t T,
                        int truncated, REAL *y, REAL *grad, double *loss, REAL *tape)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (!params || !x || !t || !y || !grad || !loss || !tape)
        return LSTM97_ERR_NULL;
    if (T < 1)
        return LSTM97_ERR_LENGTH;
    const ptrdiff_t I = d->I, K = d->K, B = d->B, S = d->S, C = L.C, nz = L.nz, nu = L.nu;
    const int has_out = d->output_gate;
    const REAL *W_in = params + L.W_in, *W_c = params + L.W_c, *W_k = params + L.W_k;
    const REAL *W_out = has_out ? params + L.W_out : NULL;
    const REAL *W_phi = d->forget_gate ? params + L.W_phi : NULL;
    const ptrdiff_t F = W_phi ? B : 0;      /* y_phi at the end of a record; d_net_phi */
    const ptrdiff_t rec = nz + 2 * B + 3 * C + F;
    REAL *u = tape + T * rec, *dnk = u + nu, *dyc = dnk + K, *ds = dyc + C, *dnc = ds + C;
    REAL *dni = dnc + C, *dno = dni + B, *dz = dno + B, *dnf = dz + nz;
    const int full = d->sources == LSTM97_SOURCES_FULL;
    const ptrdiff_t slot_phi = 1 + I + C + (has_out ? 2 : 1) * B;   /* y_phi(t-1) in z */
    const REAL *P_in = L.P_in >= 0 ? params + L.P_in : NULL;        /* peepholes (C) */
    const REAL *P_phi = L.P_phi >= 0 ? params + L.P_phi : NULL;
    const REAL *P_out = L.P_out >= 0 ? params + L.P_out : NULL;
    double E = 0;
    lstm97_poller poll = lstm97_poller_start();

    /* forward, recording every step */
    for (int64_t st = 0; st < T; st++) {
        REAL *z = tape + st * rec, *y_in = z + nz, *y_out = y_in + B, *g = y_out + B;
        REAL *s = g + C, *hs = s + C, *y_phi = hs + C;
        const REAL *prev = st > 0 ? z - rec : NULL;
        const REAL *xt = x + st * I;
        z[0] = 1;
        for (ptrdiff_t i = 0; i < I; i++)
            z[1 + i] = xt[i];
        for (ptrdiff_t m = 1 + I; m < nz; m++)
            z[m] = 0;
        if (prev) {
            const REAL *pyi = prev + nz, *pyo = pyi + B, *phs = pyo + B + 2 * C;
            for (ptrdiff_t c = 0; c < C; c++)
                z[1 + I + c] = pyo[c / S] * phs[c];
            if (full)
                for (ptrdiff_t j = 0; j < B; j++) {
                    z[1 + I + C + j] = pyi[j];
                    if (has_out)
                        z[1 + I + C + B + j] = pyo[j];
                    if (W_phi)
                        z[slot_phi + j] = prev[nz + 2 * B + 3 * C + j];
                }
        }
        const REAL *sp_all = prev ? prev + nz + 2 * B + C : NULL;    /* s(t-1) */
        for (ptrdiff_t j = 0; j < B; j++) {
            REAL ni = FN(dot)(W_in + j * nz, z, nz);
            if (P_in && sp_all)
                ni += FN(peep)(P_in, sp_all, j, S);
            y_in[j] = FN(sig)(ni);
            y_out[j] = has_out ? FN(sig)(FN(dot)(W_out + j * nz, z, nz)) : (REAL)1;
            if (W_phi) {
                REAL nf = FN(dot)(W_phi + j * nz, z, nz);
                if (P_phi && sp_all)
                    nf += FN(peep)(P_phi, sp_all, j, S);
                y_phi[j] = FN(sig)(nf);
            }
        }
        int finite = 1;
        u[0] = 1;
        for (ptrdiff_t i = 0; i < I; i++)
            u[1 + i] = xt[i];
        for (ptrdiff_t c = 0; c < C; c++) {
            ptrdiff_t j = c / S;
            g[c] = FN(g_of)(d->g, FN(dot)(W_c + c * nz, z, nz));
            REAL sp = prev ? prev[nz + 2 * B + C + c] : (REAL)0;      /* s_c(t-1) */
            s[c] = (W_phi ? y_phi[j] * sp : sp) + y_in[j] * g[c];
            hs[c] = FN(h_of)(d->h, s[c]);
            u[1 + I + c] = y_out[j] * hs[c];
            finite &= isfinite(s[c]) != 0;
        }
        for (ptrdiff_t j = 0; P_out && j < B; j++) {     /* the output peephole sees s(t) */
            y_out[j] = FN(sig)(FN(dot)(W_out + j * nz, z, nz) + FN(peep)(P_out, s, j, S));
            for (ptrdiff_t c = j * S; c < (j + 1) * S; c++)
                u[1 + I + c] = y_out[j] * hs[c];
        }
        REAL *yt = y + st * K;
        for (ptrdiff_t k = 0; k < K; k++) {
            REAL a = FN(dot)(W_k + k * nu, u, nu);
            yt[k] = d->out == LSTM97_OUT_LOGISTIC ? FN(sig)(a) : a;
        }
        if (d->out == LSTM97_OUT_SOFTMAX) {
            /* cross-entropy log sum_k e^{net_k} - sum_k t_k net_k, from the net inputs */
            const int has_t = !tmask || tmask[st];
            double tnet = 0;
            if (has_t)
                for (ptrdiff_t k = 0; k < K; k++)
                    tnet += (double)t[st * K + k] * (double)yt[k];
            double lse = FN(softmax)(K, yt);
            if (has_t)
                E += lse - tnet;
        }
        for (ptrdiff_t k = 0; k < K; k++)
            finite &= isfinite(yt[k]) != 0;
        if (!finite)
            return LSTM97_ERR_NONFINITE;
        if (lstm97_poller_tick(&poll, L.n_params))
            return LSTM97_ERR_INTERRUPTED;
    }

    /* back in time */
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        grad[i] = 0;
    for (ptrdiff_t c = 0; c < C; c++)
        ds[c] = 0;
    for (ptrdiff_t m = 0; m < nz; m++)
        dz[m] = 0;
    REAL *gW_in = grad + L.W_in, *gW_c = grad + L.W_c, *gW_k = grad + L.W_k;
    REAL *gW_out = has_out ? grad + L.W_out : NULL;
    for (int64_t st = T - 1; st >= 0; st--) {
        const REAL *z = tape + st * rec, *y_in = z + nz, *y_out = y_in + B, *g = y_out + B;
        const REAL *hs = g + 2 * C, *y_phi = hs + C;
        const REAL *s_prev = st > 0 ? z - rec + nz + 2 * B + C : NULL;   /* s(t-1) or none */
        const REAL *xt = x + st * I, *yt = y + st * K;
        const int has_t = !tmask || tmask[st];
        u[0] = 1;
        for (ptrdiff_t i = 0; i < I; i++)
            u[1 + i] = xt[i];
        for (ptrdiff_t c = 0; c < C; c++)
            u[1 + I + c] = y_out[c / S] * hs[c];
        /* output units (eqs. 19, 22) */
        for (ptrdiff_t k = 0; k < K; k++) {
            dnk[k] = 0;
            if (has_t) {
                /* d loss / d net_k: (y_k - t_k) f_out'(net_k), softmax: y_k - t_k */
                dnk[k] = -FN(out_error)(d->out, yt[k], t[st * K + k]);
                if (d->out != LSTM97_OUT_SOFTMAX) {
                    REAL err = yt[k] - t[st * K + k];
                    E += 0.5 * (double)err * (double)err;
                }
                FN(axpy)(nu, dnk[k], u, gW_k + k * nu);
            }
        }
        /* cell outputs: from the outputs now and from z(t + 1) */
        for (ptrdiff_t c = 0; c < C; c++) {
            REAL acc = dz[1 + I + c];
            for (ptrdiff_t k = 0; k < K; k++)
                acc += W_k[k * nu + 1 + I + c] * dnk[k];
            dyc[c] = acc;
        }
        for (ptrdiff_t j = 0; j < B; j++) {
            REAL dyo = has_out && full ? dz[1 + I + C + B + j] : (REAL)0;
            REAL dyi = full ? dz[1 + I + C + j] : (REAL)0;
            if (P_out) {
                /* the output gate first: its peephole passes error to s(t) (exact
                   gradient only; the truncated rule keeps e_s in its 1997 form) */
                for (ptrdiff_t c = j * S; c < (j + 1) * S; c++)
                    dyo += dyc[c] * hs[c];
                dno[j] = dyo * y_out[j] * ((REAL)1 - y_out[j]);
                for (ptrdiff_t c = j * S; c < (j + 1) * S; c++) {
                    ds[c] += dyc[c] * y_out[j] * FN(h_prime)(d->h, hs[c]);
                    if (!truncated)
                        ds[c] += P_out[c] * dno[j];
                    dyi += ds[c] * g[c];
                    dnc[c] = ds[c] * y_in[j] * FN(g_prime)(d->g, g[c]);
                }
            } else {
                for (ptrdiff_t c = j * S; c < (j + 1) * S; c++) {
                    dyo += dyc[c] * hs[c];
                    /* the CEC: ds(t) = ds(t + 1) + dL/ds through h at t */
                    ds[c] += dyc[c] * y_out[j] * FN(h_prime)(d->h, hs[c]);
                    dyi += ds[c] * g[c];
                    dnc[c] = ds[c] * y_in[j] * FN(g_prime)(d->g, g[c]);
                }
                dno[j] = has_out ? dyo * y_out[j] * ((REAL)1 - y_out[j]) : (REAL)0;
            }
            dni[j] = dyi * y_in[j] * ((REAL)1 - y_in[j]);
            if (W_phi) {
                /* forget gate: scales s(t-1) of each cell of the block */
                REAL dyf = full ? dz[slot_phi + j] : (REAL)0;
                for (ptrdiff_t c = j * S; s_prev && c < (j + 1) * S; c++)
                    dyf += ds[c] * s_prev[c];
                dnf[j] = dyf * y_phi[j] * ((REAL)1 - y_phi[j]);
                /* the CEC's factor back to s(t-1) is y_phi(t) */
                for (ptrdiff_t c = j * S; c < (j + 1) * S; c++)
                    ds[c] *= y_phi[j];
            }
            /* peephole weights (sources s(t-1) for the input and forget gates, s(t) for
               the output gate), and (exact gradient) their error reaching s(t-1) */
            for (ptrdiff_t c = j * S; P_in && c < (j + 1) * S; c++) {
                const REAL s_t = g[C + c];                          /* s_c(t) */
                if (s_prev)
                    grad[L.P_in + c] += dni[j] * s_prev[c];
                if (P_phi && s_prev)
                    grad[L.P_phi + c] += dnf[j] * s_prev[c];
                if (P_out)
                    grad[L.P_out + c] += dno[j] * s_t;
                if (!truncated) {
                    ds[c] += P_in[c] * dni[j];
                    if (P_phi)
                        ds[c] += P_phi[c] * dnf[j];
                }
            }
        }
        for (ptrdiff_t j = 0; j < B; j++) {
            FN(axpy)(nz, dni[j], z, gW_in + j * nz);
            if (has_out)
                FN(axpy)(nz, dno[j], z, gW_out + j * nz);
            if (W_phi)
                FN(axpy)(nz, dnf[j], z, grad + L.W_phi + j * nz);
        }
        for (ptrdiff_t c = 0; c < C; c++)
            FN(axpy)(nz, dnc[c], z, gW_c + c * nz);
        /* the error reaching the recurrent entries of z(t), i.e. the activations of t - 1 */
        for (ptrdiff_t m = 1 + I; m < nz; m++) {
            REAL acc = 0;
            if (!truncated) {
                for (ptrdiff_t j = 0; j < B; j++) {
                    acc += W_in[j * nz + m] * dni[j];
                    if (has_out)
                        acc += W_out[j * nz + m] * dno[j];
                    if (W_phi)
                        acc += W_phi[j * nz + m] * dnf[j];
                }
                for (ptrdiff_t c = 0; c < C; c++)
                    acc += W_c[c * nz + m] * dnc[c];
            }
            dz[m] = acc;
        }
        if (lstm97_poller_tick(&poll, 2 * L.n_params))
            return LSTM97_ERR_INTERRUPTED;
    }
    if (masks)
        for (ptrdiff_t i = 0; i < L.n_params; i++)
            grad[i] *= masks[i];
    *loss = E;
    return FN(lstm97_all_finite)(L.n_params, grad) ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}

/* ---- mini-batches (docs/model.md, extension) ----------------------------------------------
 * N sequences of length T in lockstep, each with its own state and work buffer; at each
 * step (schedule "step") or at the end ("sequence") the parameters move by the mean
 * (1/N) sum_n dW_n.  The sequences form fixed blocks of LSTM97_BATCH_BLOCK; one thread
 * owns a whole block and adds the updates of its sequences, in order, into the block's
 * own dW row; then each parameter adds the block rows in block order.  The blocks do not
 * depend on the thread count, so neither does any sum: the result is bitwise the same for
 * every n_threads.
 *
 * With one thread a block's row is row b * LSTM97_BATCH_BLOCK of dW.  With n_threads >= 2
 * (so N >= 5) an update moves every block row between the cores, and that traffic and
 * the waits at the barriers are what the threads lose.  Two ways, chosen by the number of
 * block rows a thread must read from the others:
 *  - few blocks (n_blocks <= 2 n_threads): the threads meet once per update.  Every
 *    thread keeps its own copy of the parameters (thread 0: params itself; thread k >= 1:
 *    row 2 n_blocks + k - 1 of dW) and applies the whole update to it; the block rows
 *    alternate between two sets (row 2 b + parity), so that a set is cleared only after
 *    every thread has read it.  2 n_blocks + n_threads - 1 <= 3 ceil(N / 4) - 1 <= N
 *    rows: dW keeps its size N x P.
 *  - many blocks ("shared"): each thread applies its slice of the parameters to params
 *    from every block row, and the threads meet a second time before params is read
 *    again: each block row crosses once per update instead of once per thread.
 * Either way every parameter adds the same rows in the same order. */

#define LSTM97_BATCH_BLOCK 4

typedef struct FN(lstm97_batch_job) {
    const lstm97_dims *d;
    const lstm97_layout *L;
    REAL *params;
    const REAL *masks, *x, *t;
    const uint8_t *tmask;
    int64_t N, T;
    REAL alpha;
    int schedule, n_threads, tid;
    REAL *y, *state, *work, *dW;
    lstm97_barrier *barrier;
    int status;                       /* this thread's: LSTM97_OK or LSTM97_ERR_NONFINITE */
    int *stop;                        /* atomic: set by thread 0 when the poll says stop */
} FN(lstm97_batch_job);

/* the dW row of block b in set `parity` */
static inline REAL *FN(batch_row)(const FN(lstm97_batch_job) *job, int64_t b, int parity)
{
    const ptrdiff_t P = job->L->n_params;
    if (job->n_threads == 1)
        return job->dW + b * LSTM97_BATCH_BLOCK * P;
    return job->dW + (2 * b + parity) * P;
}

/* The block rows that an update adds: at step s (schedule "step") only blocks with a
 * target at s have a nonzero row; the others are all +0.0 and are left out (exactly: a
 * sum that starts at +0.0 is never -0.0, so adding +0.0 changes nothing), which saves
 * the reading of a row from the other core on steps where its block has no target.
 * Returns the number of rows listed; -1 (every row: schedule "sequence", or more than
 * LSTM97_BATCH_LIVE_MAX blocks of which at least one has a target). */
#define LSTM97_BATCH_LIVE_MAX 256

/* does block b have a target at step s (s < 0: at some step) */
static inline int FN(batch_block_live)(const FN(lstm97_batch_job) *job, int64_t b, int64_t s)
{
    if (s < 0 || !job->tmask)
        return 1;
    for (int64_t q = b * LSTM97_BATCH_BLOCK; q < job->N && q < (b + 1) * LSTM97_BATCH_BLOCK; q++)
        if (job->tmask[q * job->T + s])
            return 1;
    return 0;
}

static int FN(batch_live)(const FN(lstm97_batch_job) *job, int64_t s, int parity,
                          const REAL **rows)
{
    const int64_t n_blocks = (job->N + LSTM97_BATCH_BLOCK - 1) / LSTM97_BATCH_BLOCK;
    if (n_blocks > LSTM97_BATCH_LIVE_MAX) {
        for (int64_t b = 0; b < n_blocks; b++)
            if (FN(batch_block_live)(job, b, s))
                return -1;
        return 0;
    }
    int n = 0;
    for (int64_t b = 0; b < n_blocks; b++)
        if (FN(batch_block_live)(job, b, s))
            rows[n++] = FN(batch_row)(job, b, parity);
    return n;
}

/* dst[i] += (1/N) sum_b row(b, parity)[i] for lo <= i < hi, over the n_live rows listed
 * (n_live < 0: every block row, in block order) */
static void FN(batch_apply)(const FN(lstm97_batch_job) *job, const REAL *const *rows,
                            int n_live, int parity, ptrdiff_t lo, ptrdiff_t hi, REAL *dst)
{
    const int64_t n_blocks = (job->N + LSTM97_BATCH_BLOCK - 1) / LSTM97_BATCH_BLOCK;
    const REAL inv_N = (REAL)1 / (REAL)job->N;
    if (n_live == 1) {
        const REAL *r0 = rows[0];
        for (ptrdiff_t i = lo; i < hi; i++) {
            REAL acc = (REAL)0 + r0[i];
            dst[i] += job->N == 1 ? acc : acc * inv_N;
        }
    } else if (n_live == 2) {
        const REAL *r0 = rows[0], *r1 = rows[1];
        for (ptrdiff_t i = lo; i < hi; i++) {
            REAL acc = ((REAL)0 + r0[i]) + r1[i];
            dst[i] += acc * inv_N;
        }
    } else if (n_live > 2) {
        for (ptrdiff_t i = lo; i < hi; i++) {
            REAL acc = 0;
            for (int b = 0; b < n_live; b++)
                acc += rows[b][i];
            dst[i] += acc * inv_N;
        }
    } else if (n_live < 0) {
        for (ptrdiff_t i = lo; i < hi; i++) {
            REAL acc = 0;
            for (int64_t b = 0; b < n_blocks; b++)
                acc += FN(batch_row)(job, b, parity)[i];
            dst[i] += job->N == 1 ? acc : acc * inv_N;
        }
    }
}

/* zero the rows of set `parity` of this thread's blocks (with a target at step s, when
 * s >= 0: the others are still zero) */
static void FN(batch_clear)(const FN(lstm97_batch_job) *job, int parity, int64_t s)
{
    const ptrdiff_t P = job->L->n_params;
    const int64_t n_blocks = (job->N + LSTM97_BATCH_BLOCK - 1) / LSTM97_BATCH_BLOCK;
    for (int64_t b = job->tid; b < n_blocks; b += job->n_threads)
        if (FN(batch_block_live)(job, b, s))
            memset(FN(batch_row)(job, b, parity), 0, (size_t)P * sizeof(REAL));
}

static void *FN(batch_worker)(void *arg)
{
    FN(lstm97_batch_job) *job = (FN(lstm97_batch_job) *)arg;
    const lstm97_dims *d = job->d;
    const lstm97_layout *L = job->L;
    const int64_t N = job->N, T = job->T;
    const ptrdiff_t I = d->I, K = d->K, P = L->n_params;
    const int64_t n_blocks = (N + LSTM97_BATCH_BLOCK - 1) / LSTM97_BATCH_BLOCK;
    const int nt = job->n_threads;
    const int shared = nt > 1 && n_blocks > 2 * (int64_t)nt;
    int64_t last_update = -1;            /* the step of the last update (few blocks) */
    /* this thread's parameters; the copies are made before the first wait, and thread 0
       writes params only after it */
    REAL *mine = job->tid == 0 || shared ? job->params
                                         : job->dW + (2 * n_blocks + job->tid - 1) * P;
    if (mine != job->params)
        memcpy(mine, job->params, (size_t)P * sizeof(REAL));
    int parity = 0;
    FN(batch_clear)(job, 0, -1);
    if (nt > 1)
        FN(batch_clear)(job, 1, -1);
    for (int64_t b = job->tid; b < n_blocks; b += nt) {
        for (int64_t n = b * LSTM97_BATCH_BLOCK; n < N && n < (b + 1) * LSTM97_BATCH_BLOCK; n++) {
            memset(job->state + n * L->state_len, 0, (size_t)L->state_len * sizeof(REAL));
            FN(mask_rows)(L, job->masks, FN(work_view)(d, L, job->work + n * L->work_len).full);
        }
    }
    const REAL *rows[LSTM97_BATCH_LIVE_MAX];
    /* thread 0 (the caller's) polls; on a stop it aborts the barrier and every thread
       leaves at its next step or wait */
    lstm97_poller poll = lstm97_poller_start();
    int64_t mine_n = 0;
    for (int64_t b = job->tid; b < n_blocks; b += nt)
        mine_n += (b + 1) * LSTM97_BATCH_BLOCK <= N ? LSTM97_BATCH_BLOCK
                                                    : N - b * LSTM97_BATCH_BLOCK;
    /* a step also waits for the other threads (longer on a busy machine): it counts at
       least 1/1024 of the interval, so thread 0 polls at least every 1024 steps */
    int64_t units = mine_n * (P + L->state_len);
    if (units < LSTM97_POLL_UNITS / 1024)
        units = LSTM97_POLL_UNITS / 1024;
    for (int64_t s = 0; s < T; s++) {
        if (job->tid == 0 && lstm97_poller_tick(&poll, units)) {
            __atomic_store_n(job->stop, 1, __ATOMIC_RELEASE);
            lstm97_barrier_abort(job->barrier);
        }
        if (__atomic_load_n(job->stop, __ATOMIC_ACQUIRE))
            return NULL;
        for (int64_t b = job->tid; b < n_blocks; b += nt) {
            REAL *row = FN(batch_row)(job, b, parity);
            for (int64_t n = b * LSTM97_BATCH_BLOCK; n < N && n < (b + 1) * LSTM97_BATCH_BLOCK; n++) {
                const uint8_t has_t = !job->tmask || job->tmask[n * T + s];
                int rc = FN(step_core)(d, L, mine, job->masks,
                                       job->x + (n * T + s) * I,
                                       has_t ? job->t + (n * T + s) * K : NULL,
                                       job->alpha, LSTM97_ACCUMULATE,
                                       job->y + (n * T + s) * K,
                                       job->state + n * L->state_len,
                                       job->work + n * L->work_len, row);
                if (rc != LSTM97_OK)
                    job->status = rc;
            }
        }
        if (job->schedule == LSTM97_STEP) {
            int n_live = FN(batch_live)(job, s, parity, rows);
            if (n_live == 0)
                continue;
            if (nt == 1) {
                FN(batch_apply)(job, rows, n_live, 0, 0, P, mine);
                FN(batch_clear)(job, 0, s);
            } else if (shared) {
                if (lstm97_barrier_wait(job->barrier) != 0)   /* every block row of step s is done */
                    return NULL;                              /* (or a stop) */
                FN(batch_apply)(job, rows, n_live, 0, P * job->tid / nt,
                                P * (job->tid + 1) / nt, mine);
                if (lstm97_barrier_wait(job->barrier) != 0)   /* params ready for step s + 1 */
                    return NULL;
                FN(batch_clear)(job, 0, s);
            } else {
                if (lstm97_barrier_wait(job->barrier) != 0)   /* every block row of step s is done */
                    return NULL;
                FN(batch_apply)(job, rows, n_live, parity, 0, P, mine);
                /* the other set was last read before this wait (at the last update: its
                   rows with a target then are the ones to zero) */
                if (last_update >= 0)
                    FN(batch_clear)(job, !parity, last_update);
                last_update = s;
                parity = !parity;
            }
        }
    }
    if (job->schedule == LSTM97_SEQUENCE) {
        if (lstm97_barrier_wait(job->barrier) != 0)
            return NULL;
        FN(batch_apply)(job, rows, -1, parity, P * job->tid / nt, P * (job->tid + 1) / nt,
                        job->params);
    }
    return NULL;
}

LSTM97_API int FN(lstm97_train_batch)(const lstm97_dims *d, REAL *params, const REAL *masks,
                           const REAL *x, const REAL *t, const uint8_t *tmask,
                           int64_t N, int64_t T, double alpha, int schedule, int n_threads,
                           REAL *y, REAL *state, REAL *work, REAL *dW)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (!params || !masks || !x || !t || !y || !state || !work || !dW)
        return LSTM97_ERR_NULL;
    if (T < 1 || N < 1)
        return LSTM97_ERR_LENGTH;
    if (schedule != LSTM97_STEP && schedule != LSTM97_SEQUENCE)
        return LSTM97_ERR_SCHEDULE;
    if (!isfinite(alpha))
        return LSTM97_ERR_ALPHA;
    if (n_threads < 1 || n_threads > LSTM97_MAX_THREADS)
        return LSTM97_ERR_THREADS;
#ifdef LSTM97_NO_THREADS
    if (n_threads != 1)                /* a build without threads */
        return LSTM97_ERR_THREADS;
#endif
    int64_t n_blocks = (N + LSTM97_BATCH_BLOCK - 1) / LSTM97_BATCH_BLOCK;
    if (n_threads > n_blocks)
        n_threads = (int)n_blocks;

    FN(lstm97_batch_job) jobs[LSTM97_MAX_THREADS];
    lstm97_barrier barrier;
    int stop = 0;
    if (lstm97_barrier_init(&barrier, n_threads) != 0)
        return LSTM97_ERR_THREADS;
    for (int k = 0; k < n_threads; k++) {
        FN(lstm97_batch_job) j = {d, &L, params, masks, x, t, tmask, N, T, (REAL)alpha,
                                  schedule, n_threads, k, y, state, work, dW, &barrier,
                                  LSTM97_OK, &stop};
        jobs[k] = j;
    }
    rc = lstm97_run_threads(n_threads, FN(batch_worker), jobs, sizeof(jobs[0]));
    lstm97_barrier_destroy(&barrier);
    if (rc != LSTM97_OK)
        return rc;
    if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
        return LSTM97_ERR_INTERRUPTED;
    for (int k = 0; k < n_threads; k++)
        if (jobs[k].status != LSTM97_OK)
            return jobs[k].status;
    return FN(lstm97_all_finite)(L.n_params, params) ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}
