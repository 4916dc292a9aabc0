/*
 * lstm97_gradient.h -- lstm97_gradient for one REAL (FN(x) names): back-propagation
 * through time over a recorded tape, the exact gradient or (truncated) the gradient of
 * the 1997 rule's truncation, for every option of the family ("The exact gradient (BPTT)
 * reference" in docs/model.md).  Part of lstm97_impl.h: no include guard.
 */

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
