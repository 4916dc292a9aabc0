/*
 * lstm97_public.h -- the public kernels of one REAL (FN(x) names): lstm97_all_finite,
 * lstm97_reset, lstm97_step, lstm97_forward, lstm97_run, lstm97_apply, lstm97_train, and
 * step_core, which sends each step to the plain or the tuned step.
 *
 * Argument checks, the masks' full rows, and the loop over T steps with the schedules
 * "step" and "sequence" ("Schedules" in docs/model.md).  Part of lstm97_impl.h: no
 * include guard.
 */

/* the step of the kernel variant chosen in dims; x_next, pre, pre_out as for step_fast
 * (the plain step never computes the next step's net inputs: *pre_out = 0) */
static inline int FN(step_core)(const lstm97_dims *d, const lstm97_layout *L,
                                REAL *params, const REAL *masks,
                                const REAL *x_t, const REAL *t_t, REAL alpha, int mode,
                                REAL *y_t, REAL *state, REAL *work, REAL *dW,
                                const REAL *x_next, int pre, int *pre_out)
{
    if (d->kernel == LSTM97_KERNEL_NAIVE) {
        if (pre_out)
            *pre_out = 0;
        return FN(step_naive)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state, work, dW);
    }
    return FN(step_fast)(d, L, params, masks, x_t, t_t, alpha, mode, y_t, state, work, dW,
                         x_next, pre, pre_out);
}

/* ---- public kernels ---------------------------------------------------------------------- */

/* The checks the public kernels share, in their one order: the dims (laid out into L: a
 * code of lstm97_layout_of), the mode or schedule (LSTM97_ERR_SCHEDULE unless mode_ok),
 * the buffers (LSTM97_ERR_NULL unless bufs_ok), the length (LSTM97_ERR_LENGTH if T < 1;
 * T = 1 for a single step).  mode_ok and bufs_ok are computed by the caller from its own
 * arguments (never from d, which is checked here first); each kernel's further checks
 * (alpha, a schedule's dW, the one-hot indices) follow it. */
static int FN(check_args)(const lstm97_dims *d, lstm97_layout *L, int mode_ok, int bufs_ok,
                          int64_t T)
{
    int rc = lstm97_layout_of(d, L);
    if (rc != LSTM97_OK)
        return rc;
    if (!mode_ok)
        return LSTM97_ERR_SCHEDULE;
    if (!bufs_ok)
        return LSTM97_ERR_NULL;
    if (T < 1)
        return LSTM97_ERR_LENGTH;
    return LSTM97_OK;
}

/* mode is one of LSTM97_FORWARD, LSTM97_LEARN, LSTM97_ACCUMULATE */
static inline int FN(mode_ok)(int mode)
{
    return mode == LSTM97_FORWARD || mode == LSTM97_LEARN || mode == LSTM97_ACCUMULATE;
}

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
    int rc = FN(check_args)(d, &L, FN(mode_ok)(mode),
                            params && x_t && y_t && state && work &&
                                (mode == LSTM97_FORWARD || masks) &&
                                (mode != LSTM97_ACCUMULATE || dW),
                            1);
    if (rc != LSTM97_OK)
        return rc;
    if (mode != LSTM97_FORWARD && !isfinite(alpha))
        return LSTM97_ERR_ALPHA;
    if (mode != LSTM97_FORWARD && t_t)
        FN(mask_rows)(&L, masks, FN(work_view)(d, &L, work).full);
    rc = FN(step_core)(d, &L, params, masks, x_t, t_t, (REAL)alpha, mode,
                       y_t, state, work, dW, NULL, 0, NULL);
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
    /* pre: step s - 1 computed step s's net inputs in its update pass (step_fast; only
       within this loop: the first step of every call computes its own) */
    int pre = 0;
    for (int64_t s = 0; s < T; s++) {
        const REAL *t_s = (mode != LSTM97_FORWARD && (!tmask || tmask[s])) ? t + s * d->K : NULL;
        const REAL *x_s = x + s * d->I;
        int rc = FN(step_core)(d, L, params, masks, x_s, t_s, alpha, mode, y + s * d->K,
                               state, work, dW, s + 1 < T ? x_s + d->I : NULL, pre, &pre);
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
    int rc = FN(check_args)(d, &L, 1, params && x && y && state && work, T);
    if (rc != LSTM97_OK)
        return rc;
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
    int rc = FN(check_args)(d, &L, FN(mode_ok)(mode),
                            params && x && y && state && work &&
                                (mode == LSTM97_FORWARD || (masks && t)) &&
                                (mode != LSTM97_ACCUMULATE || dW),
                            T);
    if (rc != LSTM97_OK)
        return rc;
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
    int rc = FN(check_args)(d, &L, 1, params && masks && x && t && y && state && work, T);
    if (rc != LSTM97_OK)
        return rc;
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
