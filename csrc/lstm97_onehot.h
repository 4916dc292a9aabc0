/*
 * lstm97_onehot.h -- on-line training over a sequence of one-hot inputs given by their
 * indices (lstm97_train_onehot), for one REAL (FN(x) names).
 *
 * The inputs of the one-hot tasks (Exp. 2c: p + 4 = 1004 input units, one of them 1 at
 * each step) cost lstm97_train O(I) memory traffic per step however sparse they are: it
 * reads the dense row x(t), copies it into z and u and scans it for the nonzero columns.
 * Here the input at step s is the index idx[s] of its single unit at 1 (-1: all inputs
 * 0), and z and u keep their x columns at 0 except that one; the step is that of
 * step_fast's sparse path for the 1997 cell (no forget gate, no peepholes), the same
 * helpers in the same order: the same operations on the same nonzero terms, so the
 * outputs, weights and state are bitwise those of lstm97_train with the schedule "step"
 * on the dense one-hot x (tested so).  The per-step cost no longer grows with I.
 *
 * Part of lstm97_impl.h (after lstm97_public.h): no include guard.
 */

/* one step, mode LSTM97_LEARN: the 1997 cell's arithmetic of step_fast_impl for an input
 * x(t) that is the one-hot vector of i_t (or 0 if i_t < 0); prev is the index of the
 * previous step (its x columns of z and u are cleared first) */
static int FN(step_onehot)(const lstm97_dims *d, const lstm97_layout *L, REAL *params,
                           const REAL *masks, int32_t i_t, int32_t prev, const REAL *t_t,
                           REAL alpha, REAL *y_t, REAL *state, REAL *work)
{
    const ptrdiff_t I = d->I, K = d->K, B = d->B, S = d->S;
    const ptrdiff_t C = L->C, nz = L->nz, nu = L->nu;
    const int has_out = d->output_gate;
    const REAL *W_k = params + L->W_k;
    const ptrdiff_t row_c = (has_out ? 2 : 1) * B, row_k = row_c + C;
    REAL *z = state;
    REAL *s = z + nz;
    REAL *dS_c = s + C;
    REAL *dS_in = dS_c + C * nz;
    FN(lstm97_work_view) v = FN(work_view)(d, L, work);
    REAL *net = v.y_in;
    REAL *after_out = v.y_out + B;

    /* z = [1, x(t), recurrent]: only the one-hot column changes */
    z[0] = 1;
    if (prev >= 0)
        z[1 + prev] = 0;
    if (i_t >= 0)
        z[1 + i_t] = 1;
    int32_t one = i_t;
    FN(lstm97_cols) cols = {i_t >= 0 ? 1 : 0, &one, 1 + I};

    const ptrdiff_t R = row_c + C;
    {
        const REAL *W = params + L->W_in;
        for (ptrdiff_t r = 0; r < R; r++) {
            REAL a = FN(sp_dot)(W + r * nz, z, &cols, nz);
            if (has_out || r < B)
                net[r] = a;
            else
                after_out[r - B] = a;
        }
    }
    const int f_g = FN(g_squash)(d->g);
    if (has_out && FN(squash_is_sig)(f_g)) {
        FN(sig_array)(R, net, net);
        FN(squash_from_sig)(f_g, C, v.g_c);
    } else {
        if (has_out) {
            FN(sig_array)(row_c, net, net);
        } else {
            FN(sig_array)(B, v.y_in, v.y_in);
            for (ptrdiff_t j = 0; j < B; j++)
                v.y_out[j] = 1;
        }
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
    if (prev >= 0)
        v.u[1 + prev] = 0;
    if (i_t >= 0)
        v.u[1 + i_t] = 1;
    for (ptrdiff_t c = 0; c < C; c++)
        v.u[1 + I + c] = v.y_c[c];
    for (ptrdiff_t k = 0; k < K; k++)
        v.y_k[k] = FN(sp_dot)(W_k + k * nu, v.u, &cols, nu);
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

    const int learn = t_t != NULL;
    REAL *P = params;
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
        for (ptrdiff_t k = 0; k < K; k++) {
            REAL ae = alpha * v.e_k[k];
            REAL *p = P + L->W_k + k * nu;
            const REAL *mk = v.full[row_k + k] != 0 ? NULL : M + L->W_k + k * nu;
            FN(sp_axpy)(nu, ae, v.u, p, mk, &cols);
        }
        if (has_out) {
            for (ptrdiff_t j = 0; j < B; j++) {
                REAL ae = alpha * v.e_out[j];
                REAL *p = P + L->W_out + j * nz;
                const REAL *mk = v.full[B + j] != 0 ? NULL : M + L->W_out + j * nz;
                FN(sp_axpy)(nz, ae, z, p, mk, &cols);
            }
        }
    }
    /* traces (eqs. 27, 25) on the nonzero columns, then (target) the updates of W_c
       (eq. 28) and W_in (eq. 26) */
    for (ptrdiff_t j = 0, c = 0; j < B; j++) {
        REAL fin = v.y_in[j] * ((REAL)1 - v.y_in[j]);
        for (ptrdiff_t q = 0; q < S; q++, c++) {
            REAL a = FN(g_prime)(d->g, v.g_c[c]) * v.y_in[j];
            REAL b = v.g_c[c] * fin;
            REAL *dc = dS_c + c * nz;
            REAL *di = dS_in + c * nz;
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

/* lstm97_train with the schedule "step" on the one-hot inputs idx (T) (see the top of
 * this file); the 1997 cell only (LSTM97_ERR_UNSUPPORTED with a forget gate or
 * peepholes), LSTM97_ERR_DIMS for an index outside [-1, I). */
LSTM97_API int FN(lstm97_train_onehot)(const lstm97_dims *d, REAL *params, const REAL *masks,
                                       const int32_t *idx, const REAL *t,
                                       const uint8_t *tmask, int64_t T, double alpha,
                                       REAL *y, REAL *state, REAL *work)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (!params || !masks || !idx || !t || !y || !state || !work)
        return LSTM97_ERR_NULL;
    if (T < 1)
        return LSTM97_ERR_LENGTH;
    if (d->forget_gate || d->peepholes)
        return LSTM97_ERR_UNSUPPORTED;
    if (!isfinite(alpha))
        return LSTM97_ERR_ALPHA;
    for (int64_t s = 0; s < T; s++)
        if (idx[s] < -1 || idx[s] >= d->I)
            return LSTM97_ERR_DIMS;
    FN(lstm97_work_view) v = FN(work_view)(d, &L, work);
    memset(state, 0, (size_t)L.state_len * sizeof(REAL));
    memset(v.u, 0, (size_t)L.nu * sizeof(REAL));
    FN(mask_rows)(&L, masks, v.full);
    lstm97_poller poll = lstm97_poller_start();
    const int64_t units = L.n_params + L.state_len;
    int32_t prev = -1;
    for (int64_t s = 0; s < T; s++) {
        const REAL *t_s = (!tmask || tmask[s]) ? t + s * d->K : NULL;
        rc = FN(step_onehot)(d, &L, params, masks, idx[s], prev, t_s, (REAL)alpha,
                             y + s * d->K, state, work);
        if (rc != LSTM97_OK)
            return rc;
        prev = idx[s];
        if (lstm97_poller_tick(&poll, units))
            return LSTM97_ERR_INTERRUPTED;
    }
    if (!FN(lstm97_all_finite)(L.n_params, params))
        return LSTM97_ERR_NONFINITE;
    return LSTM97_OK;
}
