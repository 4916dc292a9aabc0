/*
 * lstm97_forward_batch.h -- batched inference: N sequences run forward on POSIX threads,
 * each thread a contiguous range of sequences.  Included at the end of lstm97.c once per
 * REAL (suffix SFX); it builds on the public lstm97_run_SFX in mode LSTM97_FORWARD and on
 * the threads of the mini-batch kernel (lstm97_run_threads), so that sequence n gives
 * exactly the bits of one lstm97_run (or lstm97_forward) call, whatever the thread count.
 * No allocation: every buffer is the caller's.
 */
#define FB_(x) LSTM97_CAT(x, SFX)

typedef struct FB_(lstm97_fwd_job) {
    const lstm97_dims *d;
    const lstm97_layout *L;
    const REAL *params, *x;
    const int64_t *lengths;
    int64_t T, first, last;     /* sequences [first, last) */
    REAL *y, *zs, *scratch;     /* scratch: this thread's state (state_len) and work */
    int status;                 /* first error of the range in sequence order */
    int64_t failed;             /* its sequence, or -1 */
} FB_(lstm97_fwd_job);

static void *FB_(lstm97_fwd_worker)(void *arg)
{
    FB_(lstm97_fwd_job) *job = (FB_(lstm97_fwd_job) *)arg;
    const lstm97_dims *d = job->d;
    const ptrdiff_t I = d->I, K = d->K;
    const ptrdiff_t nzs = job->L->nz + job->L->C;       /* z and s: the forward state */
    REAL *state = job->scratch, *work = job->scratch + job->L->state_len;
    /* the traces are neither read nor written in mode LSTM97_FORWARD; zeroed once so
       that no step ever sees undefined memory */
    memset(state, 0, (size_t)job->L->state_len * sizeof(REAL));
    job->status = LSTM97_OK;
    job->failed = -1;
    for (int64_t n = job->first; n < job->last; n++) {
        const int64_t len = job->lengths ? job->lengths[n] : job->T;
        REAL *y_n = job->y + n * job->T * K, *zs_n = job->zs + n * nzs;
        memcpy(state, zs_n, (size_t)nzs * sizeof(REAL));
        if (len > 0) {
            int rc = LSTM97_CAT(lstm97_run, SFX)(d, (REAL *)job->params, NULL,
                                                 job->x + n * job->T * I, NULL, NULL, len,
                                                 0.0, LSTM97_FORWARD, y_n, state, work,
                                                 NULL);
            if (rc != LSTM97_OK && job->status == LSTM97_OK) {
                job->status = rc;
                job->failed = n;
            }
        }
        memset(y_n + len * K, 0, (size_t)((job->T - len) * K) * sizeof(REAL));
        memcpy(zs_n, state, (size_t)nzs * sizeof(REAL));
    }
    return NULL;
}

int FB_(lstm97_forward_batch)(const lstm97_dims *d, const REAL *params, const REAL *x,
                              const int64_t *lengths, int64_t N, int64_t T, int n_threads,
                              REAL *y, REAL *zs, REAL *scratch, int64_t *failed)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (!params || !x || !y || !zs || !scratch)
        return LSTM97_ERR_NULL;
    if (N < 1 || T < 1)
        return LSTM97_ERR_LENGTH;
    if (n_threads < 1 || n_threads > LSTM97_MAX_THREADS)
        return LSTM97_ERR_THREADS;
    if (lengths)
        for (int64_t n = 0; n < N; n++)
            if (lengths[n] < 0 || lengths[n] > T)
                return LSTM97_ERR_LENGTH;
    if (failed)
        *failed = -1;
    const int used = (int64_t)n_threads < N ? n_threads : (int)N;
    FB_(lstm97_fwd_job) jobs[LSTM97_MAX_THREADS];
    for (int k = 0; k < used; k++) {
        FB_(lstm97_fwd_job) *j = &jobs[k];
        j->d = d;
        j->L = &L;
        j->params = params;
        j->x = x;
        j->lengths = lengths;
        j->T = T;
        j->first = N * k / used;
        j->last = N * (k + 1) / used;
        j->y = y;
        j->zs = zs;
        j->scratch = scratch + (ptrdiff_t)k * (L.state_len + L.work_len);
        j->status = LSTM97_OK;
        j->failed = -1;
    }
    rc = lstm97_run_threads(used, FB_(lstm97_fwd_worker), jobs, sizeof jobs[0]);
    if (rc != LSTM97_OK)
        return rc;
    for (int k = 0; k < used; k++)
        if (jobs[k].status != LSTM97_OK) {
            if (failed)
                *failed = jobs[k].failed;
            return jobs[k].status;
        }
    return LSTM97_OK;
}

#undef FB_
