/*
 * lstm97_step_plain.h -- one time step, the plain scalar reference (step_naive), for one
 * REAL (FN(x) names).
 *
 * The forward step ("The forward step" in docs/model.md), the truncated traces (eqs. 25
 * and 27), the errors (eqs. 19, 21, 23) and the weight changes (eqs. 22, 26, 28), with the
 * forget gate and peepholes of "The LSTM family", written as directly as the equations.
 * The tuned step (lstm97_step_tuned.h) is tested against it bit for bit.  Part of
 * lstm97_impl.h: no include guard.
 */

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
