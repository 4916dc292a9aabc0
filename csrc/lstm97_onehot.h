/*
 * lstm97_onehot.h -- on-line training over a sequence of one-hot inputs given by their
 * indices (lstm97_train_onehot), for one REAL (FN(x) names).
 *
 * The inputs of the one-hot tasks (Exp. 2c: p + 4 = 1004 input units, one of them 1 at
 * each step) cost lstm97_train O(I) memory traffic per step however sparse they are: it
 * reads the dense row x(t), copies it into z and u and scans it for the nonzero columns.
 * Here the input at step s is the index idx[s] of its single unit at 1 (-1: all inputs
 * 0), and z and u keep their x columns at 0 except that one; the step is the tuned
 * step's own, in its input mode by index (step_fast_onehot, lstm97_step_tuned.h: the
 * sparse path of the 1997 cell with the nonzero column given instead of found by a scan
 * of x), so the outputs, weights and state are bitwise those of lstm97_train with the
 * schedule "step" on the dense one-hot x (tested so).  The per-step cost no longer grows
 * with I.
 *
 * Part of lstm97_impl.h (after lstm97_public.h): no include guard.
 */

/* lstm97_train with the schedule "step" on the one-hot inputs idx (T) (see the top of
 * this file); the 1997 cell only (LSTM97_ERR_UNSUPPORTED with a forget gate or
 * peepholes), LSTM97_ERR_DIMS for an index outside [-1, I). */
LSTM97_API int FN(lstm97_train_onehot)(const lstm97_dims *d, REAL *params, const REAL *masks,
                                       const int32_t *idx, const REAL *t,
                                       const uint8_t *tmask, int64_t T, double alpha,
                                       REAL *y, REAL *state, REAL *work)
{
    lstm97_layout L;
    int rc = FN(check_args)(d, &L, 1, params && masks && idx && t && y && state && work, T);
    if (rc != LSTM97_OK)
        return rc;
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
        rc = FN(step_fast_onehot)(d, &L, params, masks, idx[s], prev, t_s, (REAL)alpha,
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
