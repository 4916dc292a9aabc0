/*
 * lstm97_impl.h -- the kernels, written once for a generic REAL.
 *
 * Included twice by lstm97.c: once with REAL = double, FN(x) = x##_f64, and once with
 * REAL = float, FN(x) = x##_f32.  EXP and TANH name the matching libm functions.
 * Equation numbers are those of Hochreiter & Schmidhuber (1997); see lstm1997.md.
 */

/* ---- activation functions (spec section 3) ------------------------------------------ */

/* logistic sig(x) = 1 / (1 + e^-x), overflow-free for either sign of x */
static inline REAL FN(sig)(REAL x)
{
    if (x >= 0) {
        REAL e = EXP(-x);
        return (REAL)1 / ((REAL)1 + e);
    } else {
        REAL e = EXP(x);
        return e / ((REAL)1 + e);
    }
}

/* cell input squash g and its derivative g'(net) written in terms of g = g(net) */
static inline REAL FN(g_of)(int kind, REAL x)
{
    switch (kind) {
    case LSTM97_G1:  return FN(sig)(x);
    case LSTM97_G_TANH: return TANH(x);
    default:         return (REAL)2 * TANH((REAL)0.5 * x);  /* g2 = 4 sig(x) - 2 */
    }
}
static inline REAL FN(g_prime)(int kind, REAL g)
{
    switch (kind) {
    case LSTM97_G1:  return g * ((REAL)1 - g);
    case LSTM97_G_TANH: return (REAL)1 - g * g;
    default:         return ((REAL)4 - g * g) * (REAL)0.25;
    }
}

/* cell output squash h and h'(s) in terms of h = h(s) */
static inline REAL FN(h_of)(int kind, REAL x)
{
    switch (kind) {
    case LSTM97_H_ID:   return x;
    case LSTM97_H_TANH: return TANH(x);
    default:            return TANH((REAL)0.5 * x);        /* h1 = 2 sig(x) - 1 */
    }
}
static inline REAL FN(h_prime)(int kind, REAL h)
{
    switch (kind) {
    case LSTM97_H_ID:   return (REAL)1;
    case LSTM97_H_TANH: return (REAL)1 - h * h;
    default:            return ((REAL)1 - h * h) * (REAL)0.5;
    }
}

static inline REAL FN(dot)(const REAL *restrict a, const REAL *restrict b, ptrdiff_t n)
{
    REAL acc = 0;
    for (ptrdiff_t m = 0; m < n; m++)
        acc += a[m] * b[m];
    return acc;
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
} FN(lstm97_work_view);

static FN(lstm97_work_view) FN(work_view)(const lstm97_dims *d, const lstm97_layout *L, REAL *w)
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
    v.e_out = w;
    return v;
}

/* ---- one step (spec sections 4 and 5) --------------------------------------------------
 * The forward pass of step t, then (modes LEARN/ACCUMULATE) the trace update with z(t),
 * then (with a target) errors and weight updates, then z's recurrent part becomes
 * [y_c(t), y_in(t), y_out(t)] for step t+1.  `P` receives the updates: params (LEARN) or
 * dW (ACCUMULATE). */
static int FN(step_core)(const lstm97_dims *d, const lstm97_layout *L,
                         REAL *params, const REAL *masks,
                         const REAL *x_t, const REAL *t_t, REAL alpha, int mode,
                         REAL *y_t, REAL *state, REAL *work, REAL *dW)
{
    const ptrdiff_t I = d->I, K = d->K, B = d->B, S = d->S;
    const ptrdiff_t C = L->C, nz = L->nz, nu = L->nu;
    const REAL *W_in = params + L->W_in;
    const REAL *W_out = d->output_gate ? params + L->W_out : NULL;
    const REAL *W_c = params + L->W_c;
    const REAL *W_k = params + L->W_k;

    REAL *z = state;                 /* (nz) */
    REAL *s = z + nz;                /* (C) */
    REAL *dS_c = s + C;              /* (C, nz) */
    REAL *dS_in = dS_c + C * nz;     /* (C, nz) */
    FN(lstm97_work_view) v = FN(work_view)(d, L, work);

    /* z(t) = [1, x(t), y_c(t-1), y_in(t-1), y_out(t-1)] */
    z[0] = 1;
    for (ptrdiff_t i = 0; i < I; i++)
        z[1 + i] = x_t[i];

    /* gates: y_in = f(W_in z), y_out = f(W_out z) */
    for (ptrdiff_t j = 0; j < B; j++) {
        v.y_in[j] = FN(sig)(FN(dot)(W_in + j * nz, z, nz));
        v.y_out[j] = W_out ? FN(sig)(FN(dot)(W_out + j * nz, z, nz)) : (REAL)1;
    }
    /* cells: s_c(t) = s_c(t-1) + y_in_j g(net_c); y_c = y_out_j h(s_c)   (CEC, weight 1.0) */
    for (ptrdiff_t c = 0; c < C; c++) {
        ptrdiff_t j = c / S;
        v.g_c[c] = FN(g_of)(d->g, FN(dot)(W_c + c * nz, z, nz));
        s[c] += v.y_in[j] * v.g_c[c];
        v.h_s[c] = FN(h_of)(d->h, s[c]);
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
        v.y_k[k] = d->out == LSTM97_OUT_LINEAR ? net_k : FN(sig)(net_k);
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
            for (ptrdiff_t m = 0; m < nz; m++) {
                dc[m] += a * z[m];
                di[m] += b * z[m];
            }
        }
        if (t_t) {
            REAL *P = mode == LSTM97_LEARN ? params : dW;
            const REAL *M = masks;
            /* e_k = f_out'(net_k) (t_k - y_k), eq. 19 */
            for (ptrdiff_t k = 0; k < K; k++) {
                REAL fp = d->out == LSTM97_OUT_LINEAR ? (REAL)1 : v.y_k[k] * ((REAL)1 - v.y_k[k]);
                v.e_k[k] = fp * (t_t[k] - v.y_k[k]);
            }
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
        }
    }

    /* recurrent part of z(t+1): y_c(t), y_in(t), y_out(t) */
    for (ptrdiff_t c = 0; c < C; c++)
        z[1 + I + c] = v.y_c[c];
    for (ptrdiff_t j = 0; j < B; j++) {
        z[1 + I + C + j] = v.y_in[j];
        if (d->output_gate)
            z[1 + I + C + B + j] = v.y_out[j];
    }
    return finite ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}

/* ---- public kernels ---------------------------------------------------------------------- */

int FN(lstm97_all_finite)(ptrdiff_t n, const REAL *v)
{
    /* x * 0 is 0 for finite x and NaN for Inf or NaN; the sum keeps any NaN. */
    REAL acc = 0;
    for (ptrdiff_t i = 0; i < n; i++)
        acc += v[i] * (REAL)0;
    return acc == 0;
}

int FN(lstm97_reset)(const lstm97_dims *d, REAL *state)
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

int FN(lstm97_step)(const lstm97_dims *d, REAL *params, const REAL *masks,
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
    rc = FN(step_core)(d, &L, params, masks, x_t, t_t, (REAL)alpha, mode,
                       y_t, state, work, dW);
    if (rc == LSTM97_OK && mode == LSTM97_LEARN && t_t &&
        !FN(lstm97_all_finite)(L.n_params, params))
        rc = LSTM97_ERR_NONFINITE;
    return rc;
}

int FN(lstm97_forward)(const lstm97_dims *d, const REAL *params,
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
    int status = LSTM97_OK;
    for (int64_t t = 0; t < T; t++) {
        /* FORWARD mode never writes params */
        rc = FN(step_core)(d, &L, (REAL *)params, NULL, x + t * d->I, NULL, 0,
                           LSTM97_FORWARD, y + t * d->K, state, work, NULL);
        if (rc != LSTM97_OK)
            status = rc;
    }
    return status;
}

int FN(lstm97_apply)(const lstm97_dims *d, REAL *params, REAL *dW)
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

int FN(lstm97_train)(const lstm97_dims *d, REAL *params, const REAL *masks,
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
    for (int64_t s = 0; s < T; s++) {
        const REAL *t_s = (!tmask || tmask[s]) ? t + s * d->K : NULL;
        rc = FN(step_core)(d, &L, params, masks, x + s * d->I, t_s, (REAL)alpha, mode,
                           y + s * d->K, state, work, dW);
        if (rc != LSTM97_OK)
            return rc;   /* non-finite: stop at once, the caller restores its copy */
    }
    if (mode == LSTM97_ACCUMULATE)
        return FN(lstm97_apply)(d, params, dW);
    return FN(lstm97_all_finite)(L.n_params, params) ? LSTM97_OK : LSTM97_ERR_NONFINITE;
}
