/*
 * lstm97_batch.h -- lstm97_train_batch for one REAL (FN(x) names): N sequences in
 * lockstep on threads, updates averaged over the batch in a fixed order, bitwise
 * independent of the thread count ("Mini-batches" in docs/model.md).  Part of
 * lstm97_impl.h: no include guard.
 */

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

/* LSTM97_LANES / LSTM97_BATCH_BLOCK whole blocks (a lane group) can run their sequences
 * in the lanes of vector registers */
#include "lstm97_lanes.h"

/* Blocks are owned by the threads a unit of job->G blocks at a time: the unit g of
 * blocks g G .. g G + G - 1 is thread g mod n_threads's.  G is a lane group
 * (LSTM97_LANES / LSTM97_BATCH_BLOCK blocks) when there are at least as many groups as
 * threads, else 1 (every thread gets blocks; the sequences then take the per-sequence
 * path unless a lane group is one block).  Which thread runs a block does not change
 * any result (each block adds into its own row), nor does the path a sequence takes. */
#define LSTM97_BATCH_GROUP (LSTM97_LANES / LSTM97_BATCH_BLOCK)

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
    int64_t G;                        /* blocks per unit of work (above) */
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
 * (n_live < 0: every block row, in block order); each sum is ((+0 + r_0) + r_1) + ...,
 * and not scaled when N == 1.  clear: zero the rows read (one thread: the rows are
 * read by no one else).  In chunks of LSTM97_BATCH_CHUNK columns, the rows added one
 * after the other (vectorised over the columns). */
#define LSTM97_BATCH_CHUNK 64
static void FN(batch_apply)(const FN(lstm97_batch_job) *job, const REAL *const *rows,
                            int n_live, int parity, ptrdiff_t lo, ptrdiff_t hi, REAL *dst,
                            int clear)
{
    const int64_t n_rows = n_live < 0 ? (job->N + LSTM97_BATCH_BLOCK - 1) / LSTM97_BATCH_BLOCK
                                      : n_live;
    const REAL inv_N = (REAL)1 / (REAL)job->N;
    for (ptrdiff_t i0 = lo; i0 < hi; i0 += LSTM97_BATCH_CHUNK) {
        const ptrdiff_t nc = hi - i0 < LSTM97_BATCH_CHUNK ? hi - i0 : LSTM97_BATCH_CHUNK;
        typedef FN(lvec) lvec;             /* lstm97_lanes.h: a vector of lanes */
        enum { W = sizeof(lvec) / sizeof(REAL) };
        lvec acc[LSTM97_BATCH_CHUNK / W];
        const ptrdiff_t nv = nc / W;
        for (ptrdiff_t i = 0; i < LSTM97_BATCH_CHUNK / W; i++)
            acc[i] = (lvec){0};
        for (int64_t b = 0; b < n_rows; b++) {
            REAL *r = (REAL *)(n_live < 0 ? FN(batch_row)(job, b, parity) : rows[b]) + i0;
            for (ptrdiff_t i = 0; i < nv; i++) {
                acc[i] += *(const lvec *)(const void *)(r + W * i);
                if (clear)                     /* cleared in the same pass */
                    *(lvec *)(void *)(r + W * i) = (lvec){0};
            }
            for (ptrdiff_t i = W * nv; i < nc; i++) {
                acc[i / W][i % W] += r[i];
                if (clear)
                    r[i] = 0;
            }
        }
        if (job->N == 1) {
            for (ptrdiff_t i = 0; i < nv; i++)
                *(lvec *)(void *)(dst + i0 + W * i) += acc[i];
            for (ptrdiff_t i = W * nv; i < nc; i++)
                dst[i0 + i] += acc[i / W][i % W];
        } else {
            for (ptrdiff_t i = 0; i < nv; i++)
                *(lvec *)(void *)(dst + i0 + W * i) += acc[i] * inv_N;
            for (ptrdiff_t i = W * nv; i < nc; i++)
                dst[i0 + i] += acc[i / W][i % W] * inv_N;
        }
    }
}

/* zero the rows of set `parity` of this thread's blocks (with a target at step s, when
 * s >= 0: the others are still zero) */
static void FN(batch_clear)(const FN(lstm97_batch_job) *job, int parity, int64_t s)
{
    const ptrdiff_t P = job->L->n_params;
    const int64_t n_blocks = (job->N + LSTM97_BATCH_BLOCK - 1) / LSTM97_BATCH_BLOCK;
    for (int64_t b = 0; b < n_blocks; b++)
        if ((b / job->G) % job->n_threads == job->tid &&
            FN(batch_block_live)(job, b, s))
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
    const int64_t G = job->G, n_groups = (n_blocks + G - 1) / G, U = G * LSTM97_BATCH_BLOCK;
    const int lanes = FN(lanes_ok)(d) && U == LSTM97_LANES;
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
    for (int64_t g = job->tid; g < n_groups; g += nt) {
        for (int64_t n = g * U; n < N && n < (g + 1) * U; n++) {
            memset(job->state + n * L->state_len, 0, (size_t)L->state_len * sizeof(REAL));
            FN(mask_rows)(L, job->masks, FN(work_view)(d, L, job->work + n * L->work_len).full);
        }
    }
    const REAL *rows[LSTM97_BATCH_LIVE_MAX];
    /* the lanes step's weights broadcast to the lanes (lstm97_lanes.h), refreshed after
       every update of mine */
    REAL wb[LSTM97_LANES_WB_BYTES / sizeof(REAL)] __attribute__((aligned(64)));
    const int use_wb = lanes && FN(lanes_wb_fits)(P);
    int wb_stale = 1;
    /* thread 0 (the caller's) polls; on a stop it aborts the barrier and every thread
       leaves at its next step or wait */
    lstm97_poller poll = lstm97_poller_start();
    int64_t mine_n = 0;
    for (int64_t g = job->tid; g < n_groups; g += nt)
        mine_n += (g + 1) * U <= N ? U : N - g * U;
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
        /* one thread: did any sequence have a target at step s (else there is no update:
           batch_live is not needed) */
        int any_t = 0;
        for (int64_t g = job->tid; g < n_groups; g += nt) {
            const int64_t n0 = g * U;
            if (lanes && n0 + LSTM97_LANES <= N) {
                if (use_wb && wb_stale) {
                    FN(lanes_bcast)(mine, P, wb);
                    wb_stale = 0;
                }
                /* a full group: its sequences in the lanes (lstm97_lanes.h) */
                const REAL *xs[LSTM97_LANES], *ts[LSTM97_LANES];
                REAL *ys[LSTM97_LANES], *rws[LSTM97_BATCH_GROUP];
                for (int64_t l = 0; l < LSTM97_LANES; l++) {
                    const int64_t n = n0 + l;
                    const uint8_t has_t = !job->tmask || job->tmask[n * T + s];
                    xs[l] = job->x + (n * T + s) * I;
                    ts[l] = has_t ? job->t + (n * T + s) * K : NULL;
                    any_t |= has_t;
                    ys[l] = job->y + (n * T + s) * K;
                }
                for (int64_t q = 0; q < LSTM97_BATCH_GROUP; q++)     /* == G here */
                    rws[q] = FN(batch_row)(job, g * G + q, parity);
                int rc = FN(step_lanes)(d, L, mine, job->masks, xs, ts, job->alpha, ys,
                                        job->state + n0 * L->state_len,
                                        job->work + n0 * L->work_len, rws,
                                        use_wb ? wb : NULL);
                if (rc != LSTM97_OK)
                    job->status = rc;
                continue;
            }
            for (int64_t n = n0; n < N && n < n0 + U; n++) {
                REAL *row = FN(batch_row)(job, n / LSTM97_BATCH_BLOCK, parity);
                const uint8_t has_t = !job->tmask || job->tmask[n * T + s];
                any_t |= has_t;
                int rc = FN(step_core)(d, L, mine, job->masks,
                                       job->x + (n * T + s) * I,
                                       has_t ? job->t + (n * T + s) * K : NULL,
                                       job->alpha, LSTM97_ACCUMULATE,
                                       job->y + (n * T + s) * K,
                                       job->state + n * L->state_len,
                                       job->work + n * L->work_len, row, NULL, 0, NULL);
                if (rc != LSTM97_OK)
                    job->status = rc;
            }
        }
        if (job->schedule == LSTM97_STEP) {
            if (nt == 1 && !any_t)            /* every sequence is this thread's */
                continue;
            int n_live = FN(batch_live)(job, s, parity, rows);
            if (n_live == 0)
                continue;
            wb_stale = 1;                     /* mine changes */
            if (nt == 1) {
                FN(batch_apply)(job, rows, n_live, 0, 0, P, mine, 1);   /* and clear */
            } else if (shared) {
                if (lstm97_barrier_wait(job->barrier) != 0)   /* every block row of step s is done */
                    return NULL;                              /* (or a stop) */
                FN(batch_apply)(job, rows, n_live, 0, P * job->tid / nt,
                                P * (job->tid + 1) / nt, mine, 0);
                if (lstm97_barrier_wait(job->barrier) != 0)   /* params ready for step s + 1 */
                    return NULL;
                FN(batch_clear)(job, 0, s);
            } else {
                if (lstm97_barrier_wait(job->barrier) != 0)   /* every block row of step s is done */
                    return NULL;
                FN(batch_apply)(job, rows, n_live, parity, 0, P, mine, 0);
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
                        job->params, 0);
    }
    return NULL;
}

/* ---- the default thread count (lstm97_batch_threads) ------------------------------------
 * Threads pay for a call only when each has enough work between two meetings: the
 * threads meet at every step with a target (schedule "step") or once (schedule
 * "sequence"), and a meeting costs a few microseconds (benchmarks/c/bench_exchange.c);
 * waking a kept worker that has gone to sleep costs more, once per call.  A thread also
 * loses the vector lanes when it gets less than a whole lane group.  So the default uses
 * the largest k <= n_threads such that
 *  - every thread gets whole units: with schedule "step", N >= k LSTM97_LANES when the
 *    net runs in lanes, else N >= k LSTM97_BATCH_BLOCK (the most lstm97_train_batch ever
 *    uses); with "sequence" (one meeting) always N >= k LSTM97_BATCH_BLOCK: there two
 *    threads of half a lane group each beat one thread with the whole group (1,254-weight
 *    net, N = 8, AVX-512: 1.58x, docs/performance.md);
 *  - a thread's weight-sequence-steps between two meetings, ceil(N / k) P T / meetings,
 *    are at least LSTM97_BATCH_WORK_MIN (16,384: about 8 us of work; at 1 thread in 5
 *    sequence-steps with a target, the 1,254-weight net of benchmarks/test_bench_parallel.py
 *    gained 1.04x from a second thread at 10,000 and 1.31x at 20,000, docs/performance.md);
 *  - a thread's weight-sequence-steps in the call, ceil(N / k) P T, are at least
 *    LSTM97_BATCH_CALL_MIN (262,144: about 0.1 ms of work, against a wake-up).
 * The result never depends on the count, only the time does. */
#ifndef LSTM97_BATCH_WORK_MIN
#define LSTM97_BATCH_WORK_MIN 16384
#endif
#ifndef LSTM97_BATCH_CALL_MIN
#define LSTM97_BATCH_CALL_MIN 262144
#endif

LSTM97_API int FN(lstm97_batch_threads)(const lstm97_dims *d, const uint8_t *tmask,
                                        int64_t N, int64_t T, int schedule, int n_threads)
{
    lstm97_layout L;
    int rc = lstm97_layout_of(d, &L);
    if (rc != LSTM97_OK)
        return rc;
    if (T < 1 || N < 1)
        return LSTM97_ERR_LENGTH;
    if (schedule != LSTM97_STEP && schedule != LSTM97_SEQUENCE)
        return LSTM97_ERR_SCHEDULE;
    if (n_threads < 1 || n_threads > LSTM97_MAX_THREADS)
        return LSTM97_ERR_THREADS;
#ifdef LSTM97_NO_THREADS
    (void)tmask;
    return 1;
#else
    const int64_t unit = schedule == LSTM97_STEP && FN(lanes_ok)(d) ? (int64_t)LSTM97_LANES
                                                                     : LSTM97_BATCH_BLOCK;
    int64_t k = N / unit < n_threads ? N / unit : n_threads;
    if (k <= 1)
        return 1;
    int64_t meetings = 1;
    if (schedule == LSTM97_STEP) {
        meetings = 0;
        for (int64_t s = 0; s < T; s++) {
            int live = !tmask;
            for (int64_t n = 0; n < N && !live; n++)
                live = tmask[n * T + s] != 0;
            meetings += live;
        }
    }
    /* ceil(N / k) P T >= LSTM97_BATCH_WORK_MIN meetings and >= LSTM97_BATCH_CALL_MIN, in
       double (no overflow); no meeting (no target at all): the second bound only */
    const double work = (double)L.n_params * (double)T;
    const double need = LSTM97_BATCH_WORK_MIN * (double)meetings > LSTM97_BATCH_CALL_MIN
                            ? LSTM97_BATCH_WORK_MIN * (double)meetings
                            : LSTM97_BATCH_CALL_MIN;
    while (k > 1 && (double)((N + k - 1) / k) * work < need)
        k--;
    return (int)k;
#endif
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
    const int64_t n_groups = (N + LSTM97_LANES - 1) / LSTM97_LANES;
    const int64_t G = n_groups >= n_threads ? LSTM97_BATCH_GROUP : 1;

    FN(lstm97_batch_job) jobs[LSTM97_MAX_THREADS];
    lstm97_barrier barrier;
    int stop = 0;
    if (lstm97_barrier_init(&barrier, n_threads) != 0)
        return LSTM97_ERR_THREADS;
    for (int k = 0; k < n_threads; k++) {
        FN(lstm97_batch_job) j = {d, &L, params, masks, x, t, tmask, N, T, (REAL)alpha,
                                  schedule, n_threads, k, y, state, work, dW, &barrier,
                                  G, LSTM97_OK, &stop};
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
#undef LSTM97_BATCH_GROUP
#undef LSTM97_BATCH_CHUNK
#undef LSTM97_LANES_VB_
