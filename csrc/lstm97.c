/*
 * lstm97.c -- layout of the buffers and the float64 / float32 kernels.
 * The kernels themselves are in lstm97_impl.h, compiled once per REAL type.
 */
/* clock_gettime, CLOCK_MONOTONIC, sigset_t and pthread_sigmask are POSIX, not C99: ask
 * for them, so that the file also compiles with -std=c99 (a build system may define it) */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* LSTM97_NO_THREADS: a build without POSIX threads (lstm97_train_batch_* then accepts
 * n_threads = 1 only); the default uses pthreads */
#ifndef LSTM97_NO_THREADS
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#endif

#include "fastlstm.h"
#include "lstm97_exp.h"

/* Inputs at least this many are checked for sparsity (one-hot tasks) in step_fast */
#define LSTM97_SPARSE_MIN_I 16

int lstm97_sig_max_lanes(void)
{
#ifdef LSTM97_HAVE_SIG4
    if (__builtin_cpu_supports("avx2"))
        return 4;
#endif
#if defined(__GNUC__) || defined(__clang__)
    return 2;
#else
    return 1;
#endif
}

void lstm97_sig_f64(ptrdiff_t n, const double *x, double *out, int lanes)
{
    if (n > 0 && x && out && (lanes == 0 || lanes == 1 || lanes == 2 || lanes == 4))
        lstm97_sig_array_lanes(n, x, out, lanes);
}

/* ---- the poll of lstm97_set_poll (see fastlstm.h) ------------------------------------- */
static lstm97_poll_fn lstm97_poll_fn_ = NULL;   /* atomic */
static void *lstm97_poll_ctx_ = NULL;            /* atomic */

void lstm97_set_poll(lstm97_poll_fn fn, void *ctx)
{
    __atomic_store_n(&lstm97_poll_ctx_, ctx, __ATOMIC_RELAXED);
    __atomic_store_n(&lstm97_poll_fn_, fn, __ATOMIC_RELEASE);
}

/* A kernel's count of work since it last called the poll. */
typedef struct lstm97_poller {
    lstm97_poll_fn fn;
    void *ctx;
    int64_t units;
} lstm97_poller;

static inline lstm97_poller lstm97_poller_start(void)
{
    lstm97_poller p;
    p.fn = __atomic_load_n(&lstm97_poll_fn_, __ATOMIC_ACQUIRE);
    p.ctx = __atomic_load_n(&lstm97_poll_ctx_, __ATOMIC_RELAXED);
    p.units = 0;
    return p;
}

/* Count `units` of work; 1 if the poll, called every LSTM97_POLL_UNITS, says stop. */
static inline int lstm97_poller_tick(lstm97_poller *p, int64_t units)
{
    p->units += units;
    if (p->units < LSTM97_POLL_UNITS)
        return 0;
    p->units = 0;
    return p->fn != NULL && p->fn(p->ctx) != 0;
}

/* Largest size accepted for any one dimension; keeps every product below 2^62. */
#define LSTM97_MAX_DIM ((int64_t)1 << 24)

int lstm97_layout_of(const lstm97_dims *d, lstm97_layout *L)
{
    if (!d || !L)
        return LSTM97_ERR_NULL;
    if (d->I < 1 || d->K < 1 || d->B < 1 || d->S < 1 ||
        d->I > LSTM97_MAX_DIM || d->K > LSTM97_MAX_DIM ||
        d->B > LSTM97_MAX_DIM || d->S > LSTM97_MAX_DIM ||
        (int64_t)d->B * d->S > LSTM97_MAX_DIM)
        return LSTM97_ERR_DIMS;
    if (d->output_gate != 0 && d->output_gate != 1)
        return LSTM97_ERR_DIMS;
    if (d->peepholes != 0 && d->peepholes != 1)
        return LSTM97_ERR_DIMS;
    if (d->forget_gate != 0 && d->forget_gate != 1)
        return LSTM97_ERR_DIMS;
    if (d->sources != LSTM97_SOURCES_FULL && d->sources != LSTM97_SOURCES_CELLS)
        return LSTM97_ERR_DIMS;
    if (d->kernel != LSTM97_KERNEL_FAST && d->kernel != LSTM97_KERNEL_NAIVE)
        return LSTM97_ERR_DIMS;
    if (d->g < LSTM97_G2 || d->g > LSTM97_G_ID ||
        d->h < LSTM97_H1 || d->h > LSTM97_H_G1 ||
        d->out < LSTM97_OUT_LOGISTIC || d->out > LSTM97_OUT_SOFTMAX)
        return LSTM97_ERR_ACTIVATION;

    ptrdiff_t I = d->I, K = d->K, B = d->B, C = (ptrdiff_t)d->B * d->S;
    ptrdiff_t n_gates = (d->output_gate ? 2 : 1) + (d->forget_gate ? 1 : 0);
    L->C = C;
    L->nz = 1 + I + C + (d->sources == LSTM97_SOURCES_FULL ? n_gates * B : 0);
    L->nu = 1 + I + C;
    L->W_in = 0;
    L->W_out = d->output_gate ? B * L->nz : -1;
    L->W_phi = d->forget_gate ? (d->output_gate ? 2 : 1) * B * L->nz : -1;
    L->W_c = n_gates * B * L->nz;
    L->W_k = L->W_c + C * L->nz;
    L->n_params = L->W_k + K * L->nu;
    L->P_in = L->P_phi = L->P_out = -1;
    if (d->peepholes) {
        L->P_in = L->n_params;
        L->n_params += C;
        if (d->forget_gate) {
            L->P_phi = L->n_params;
            L->n_params += C;
        }
        if (d->output_gate) {
            L->P_out = L->n_params;
            L->n_params += C;
        }
    }
    L->state_len = L->nz + C + 2 * C * L->nz;           /* z, s, dS_c, dS_in */
    L->work_len = L->nu + 3 * B + 5 * C + 2 * K          /* activations and errors */
                  + (d->output_gate ? 2 : 1) * B + C + K  /* mask row flags */
                  + I;                                    /* nonzero-input indices */
    if (d->forget_gate) {
        L->state_len += C * L->nz;                       /* dS_phi */
        L->work_len += 3 * B + C;                        /* y_phi, s(t-1), a W_phi flag row */
    }
    if (d->peepholes) {
        L->state_len += C * d->S * (d->forget_gate ? 2 : 1);   /* dS_in_P, dS_phi_P */
        if (!d->forget_gate)
            L->work_len += C;                            /* s(t-1) */
    }
    return LSTM97_OK;
}

int64_t lstm97_tape_len(const lstm97_dims *d, int64_t T)
{
    lstm97_layout L;
    if (lstm97_layout_of(d, &L) != LSTM97_OK || T < 0)
        return -1;
    const int64_t B = d->B, C = L.C, K = d->K;
    const int64_t F = d->forget_gate ? B : 0;          /* y_phi in a record, d_net_phi */
    const int64_t rec = L.nz + 2 * B + 3 * C + F;
    if (T > (INT64_MAX / 8 - L.nz - L.nu - K - 5 * C - 2 * B - F) / rec)
        return -1;
    return T * rec + L.nu + K + 5 * C + 2 * B + L.nz + F;
}

#ifndef LSTM97_NO_THREADS
/* ---- threads for the mini-batch kernel ------------------------------------------------
 * A barrier that can be aborted (so a failed thread start never leaves others waiting),
 * and a runner: job 0 runs in the calling thread, jobs 1..n-1 in new threads. */
typedef struct lstm97_barrier {
    int count;                 /* threads that must arrive */
    int waiting;               /* arrived in this generation (atomic) */
    unsigned generation;       /* bumped when all arrived (atomic) */
    int aborted;               /* set once: every wait returns -1 (atomic) */
} lstm97_barrier;

static int lstm97_barrier_init(lstm97_barrier *b, int count)
{
    b->count = count;
    b->waiting = 0;
    b->generation = 0;
    b->aborted = 0;
    return 0;
}

static void lstm97_barrier_destroy(lstm97_barrier *b)
{
    (void)b;
}

/* 0 when all count threads arrived; -1 if the barrier was aborted.  Spins briefly (the
 * steps of a mini-batch are short), then yields the processor while it waits. */
static int lstm97_barrier_wait(lstm97_barrier *b)
{
    if (b->count == 1)
        return 0;
    unsigned gen = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->waiting, 1, __ATOMIC_ACQ_REL) == b->count) {
        __atomic_store_n(&b->waiting, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&b->generation, 1, __ATOMIC_RELEASE);
        return __atomic_load_n(&b->aborted, __ATOMIC_ACQUIRE) ? -1 : 0;
    }
    for (long spins = 0; __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) == gen; spins++) {
        if (__atomic_load_n(&b->aborted, __ATOMIC_ACQUIRE))
            return -1;
        if (spins > 2000)
            sched_yield();
    }
    return __atomic_load_n(&b->aborted, __ATOMIC_ACQUIRE) ? -1 : 0;
}

static void lstm97_barrier_abort(lstm97_barrier *b)
{
    __atomic_store_n(&b->aborted, 1, __ATOMIC_RELEASE);
}

/* ---- workers kept between calls ---------------------------------------------------------
 * Starting a thread and joining it costs 40-60 us on this machine (measured in
 * train_batch: the workers begin their loop ~40 us after the call), a tenth of a call of
 * 8 sequences.  So the workers started by a call stay: after a job each spins for about
 * LSTM97_POOL_SPIN_NS waiting for the next one (calls made back to back find it awake),
 * then sleeps on a condition variable.  One call at a time uses them (a trylock); a call
 * made while another holds them (another net in another thread) starts its own threads
 * as before.  A fork()ed child starts with none.
 *
 * Each worker k (1..) has its own job word cmd[k] and condition variable: a call of n
 * jobs writes a new generation into cmd[1..n-1] and wakes those n - 1 workers only (the
 * others, kept from an earlier call with more threads, stay asleep); worker k runs job k
 * and acknowledges it in `done`; the caller runs job 0 and returns only after every
 * worker it used acknowledged, so fn and jobs never change under a worker. */
#define LSTM97_POOL_SPIN_NS 200000

typedef struct lstm97_pool {
    pthread_mutex_t busy;             /* held by the call that uses the workers */
    pthread_mutex_t mu;               /* with cv[k]: sleeping workers */
    pthread_cond_t cv[LSTM97_MAX_THREADS];
    int n_workers;                    /* started (under busy) */
    uint64_t gen;                     /* generation of the last call (under busy) */
    uint64_t cmd[LSTM97_MAX_THREADS]; /* atomic: generation of worker k's next job */
    int done;                         /* atomic: acknowledgements of this generation */
    void *(*fn)(void *);
    char *jobs;
    size_t job_size;
    pthread_t tid[LSTM97_MAX_THREADS]; /* the workers 1..n_workers (joined by
                                          lstm97_stop_threads) */
} lstm97_pool;

/* or-ed into cmd[k] (with a new generation) by lstm97_stop_threads: worker k returns */
#define LSTM97_POOL_QUIT ((uint64_t)1 << 63)

static lstm97_pool lstm97_workers;     /* its locks and condition variables: lstm97_pool_init */
static pthread_once_t lstm97_pool_once = PTHREAD_ONCE_INIT;

static void lstm97_pool_after_fork(void)
{
    lstm97_pool *w = &lstm97_workers;
    pthread_mutex_init(&w->busy, NULL);
    pthread_mutex_init(&w->mu, NULL);
    for (int k = 0; k < LSTM97_MAX_THREADS; k++) {
        pthread_cond_init(&w->cv[k], NULL);
        w->cmd[k] = 0;
    }
    w->n_workers = 0;
    w->gen = 0;
}

static void lstm97_pool_init(void)
{
    lstm97_pool *w = &lstm97_workers;
    pthread_mutex_init(&w->busy, NULL);
    pthread_mutex_init(&w->mu, NULL);
    for (int k = 0; k < LSTM97_MAX_THREADS; k++)
        pthread_cond_init(&w->cv[k], NULL);
    pthread_atfork(NULL, NULL, lstm97_pool_after_fork);
}

static double lstm97_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *lstm97_pool_worker(void *arg)
{
    lstm97_pool *w = &lstm97_workers;
    const int k = (int)(intptr_t)arg;
    uint64_t seen = 0;                /* a worker starts before the first job is posted */
    for (;;) {
        uint64_t cmd = __atomic_load_n(&w->cmd[k], __ATOMIC_ACQUIRE);
        if (cmd == seen) {
            double t0 = lstm97_now_ns();
            for (long spins = 1; cmd == seen; spins++) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                cmd = __atomic_load_n(&w->cmd[k], __ATOMIC_ACQUIRE);
                if ((spins & 255) == 0 && cmd == seen &&
                    lstm97_now_ns() - t0 > LSTM97_POOL_SPIN_NS) {
                    pthread_mutex_lock(&w->mu);
                    while ((cmd = __atomic_load_n(&w->cmd[k], __ATOMIC_ACQUIRE)) == seen)
                        pthread_cond_wait(&w->cv[k], &w->mu);
                    pthread_mutex_unlock(&w->mu);
                }
            }
        }
        seen = cmd;
        if (cmd & LSTM97_POOL_QUIT)
            return NULL;
        w->fn(w->jobs + (size_t)k * w->job_size);
        __atomic_add_fetch(&w->done, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* Runs jobs 0..n-1 on the kept workers: 0 if it did, -1 if they are in use or cannot
 * be started (the caller then starts threads of its own). */
static int lstm97_pool_run(int n, void *(*fn)(void *), void *jobs, size_t job_size)
{
    lstm97_pool *w = &lstm97_workers;
    pthread_once(&lstm97_pool_once, lstm97_pool_init);
    if (pthread_mutex_trylock(&w->busy) != 0)
        return -1;
    if (w->n_workers < n - 1) {
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0) {
            pthread_mutex_unlock(&w->busy);
            return -1;
        }
        pthread_attr_setstacksize(&attr, (size_t)1 << 18);
        /* the workers outlive the call: they block every signal, which then goes to the
           caller's threads (Python handles signals in its main thread) */
        sigset_t all, old;
        sigfillset(&all);
        int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
        while (w->n_workers < n - 1) {
            int k = w->n_workers + 1;
            __atomic_store_n(&w->cmd[k], 0, __ATOMIC_RELAXED);
            if (pthread_create(&w->tid[k], &attr, lstm97_pool_worker,
                               (void *)(intptr_t)k) != 0)
                break;
            w->n_workers = k;
        }
        if (masked)
            pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        if (w->n_workers < n - 1) {
            pthread_mutex_unlock(&w->busy);
            return -1;
        }
    }
    w->fn = fn;
    w->jobs = (char *)jobs;
    w->job_size = job_size;
    __atomic_store_n(&w->done, 0, __ATOMIC_RELAXED);
    w->gen++;
    pthread_mutex_lock(&w->mu);
    for (int k = 1; k < n; k++) {
        __atomic_store_n(&w->cmd[k], w->gen, __ATOMIC_RELEASE);
        pthread_cond_signal(&w->cv[k]);
    }
    pthread_mutex_unlock(&w->mu);
    fn(jobs);
    for (long spins = 0; __atomic_load_n(&w->done, __ATOMIC_ACQUIRE) != n - 1; spins++)
        if (spins > 2000)
            sched_yield();
    pthread_mutex_unlock(&w->busy);
    return 0;
}

/* Each job's first act is a wait on `start`; if a thread cannot be created the barrier is
 * aborted, every started job returns at once, and LSTM97_ERR_THREADS is returned. */
typedef struct lstm97_thread_arg {
    void *(*fn)(void *);
    void *job;
    lstm97_barrier *start;
} lstm97_thread_arg;

static void *lstm97_thread_main(void *p)
{
    lstm97_thread_arg *a = (lstm97_thread_arg *)p;
    if (lstm97_barrier_wait(a->start) != 0)
        return NULL;
    return a->fn(a->job);
}

/* job 0 in the calling thread, jobs 1..n-1 on the kept workers or on new threads */
static int lstm97_run_threads(int n, void *(*fn)(void *), void *jobs, size_t job_size)
{
    if (n == 1) {
        fn(jobs);
        return LSTM97_OK;
    }
    if (lstm97_pool_run(n, fn, jobs, job_size) == 0)
        return LSTM97_OK;
    pthread_t threads[LSTM97_MAX_THREADS];
    lstm97_thread_arg args[LSTM97_MAX_THREADS];
    lstm97_barrier start;
    if (lstm97_barrier_init(&start, n) != 0)
        return LSTM97_ERR_THREADS;
    int created = 0, ok = 1;
    for (int k = 0; k < n; k++) {
        args[k].fn = fn;
        args[k].job = (char *)jobs + (size_t)k * job_size;
        args[k].start = &start;
    }
    /* the workers need little stack: a small one makes starting them cheaper */
    pthread_attr_t attr;
    int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr)
        pthread_attr_setstacksize(&attr, (size_t)1 << 18);
    for (int k = 1; k < n; k++) {
        if (pthread_create(&threads[k], have_attr ? &attr : NULL, lstm97_thread_main,
                           &args[k]) != 0) {
            ok = 0;
            break;
        }
        created++;
    }
    if (have_attr)
        pthread_attr_destroy(&attr);
    if (ok)
        lstm97_thread_main(&args[0]);
    else
        lstm97_barrier_abort(&start);
    for (int k = 1; k <= created; k++)
        pthread_join(threads[k], NULL);
    lstm97_barrier_destroy(&start);
    return ok ? LSTM97_OK : LSTM97_ERR_THREADS;
}

/* ---- stopping the kept workers (lstm97_stop_threads) -------------------------------------
 * Waits for a call that uses the workers to finish (the busy lock), tells every worker to
 * return (a new generation with LSTM97_POOL_QUIT in its job word, and a signal for a
 * sleeping one) and joins them; the next lstm97_train_batch_* starts new ones. */
int lstm97_stop_threads(void)
{
    lstm97_pool *w = &lstm97_workers;
    pthread_once(&lstm97_pool_once, lstm97_pool_init);
    if (pthread_mutex_lock(&w->busy) != 0)
        return LSTM97_ERR_THREADS;
    const int n = w->n_workers;
    if (n > 0) {
        w->gen++;
        pthread_mutex_lock(&w->mu);
        for (int k = 1; k <= n; k++) {
            __atomic_store_n(&w->cmd[k], w->gen | LSTM97_POOL_QUIT, __ATOMIC_RELEASE);
            pthread_cond_signal(&w->cv[k]);
        }
        pthread_mutex_unlock(&w->mu);
        for (int k = 1; k <= n; k++)
            pthread_join(w->tid[k], NULL);
        w->n_workers = 0;
    }
    pthread_mutex_unlock(&w->busy);
    return LSTM97_OK;
}

int lstm97_n_kept_threads(void)
{
    lstm97_pool *w = &lstm97_workers;
    pthread_once(&lstm97_pool_once, lstm97_pool_init);
    if (pthread_mutex_lock(&w->busy) != 0)
        return -1;
    const int n = w->n_workers;
    pthread_mutex_unlock(&w->busy);
    return n;
}

#else /* LSTM97_NO_THREADS */

/* A build without threads: the barrier is never shared (train_batch accepts n_threads = 1
 * only, see lstm97_batch.h), so it needs no atomics. */
typedef struct lstm97_barrier {
    int count;
} lstm97_barrier;

static int lstm97_barrier_init(lstm97_barrier *b, int count)
{
    b->count = count;
    return count == 1 ? 0 : -1;
}

static void lstm97_barrier_destroy(lstm97_barrier *b)
{
    (void)b;
}

static int lstm97_barrier_wait(lstm97_barrier *b)
{
    (void)b;
    return 0;
}

static void lstm97_barrier_abort(lstm97_barrier *b)
{
    (void)b;
}

static int lstm97_run_threads(int n, void *(*fn)(void *), void *jobs, size_t job_size)
{
    (void)job_size;
    if (n != 1)
        return LSTM97_ERR_THREADS;
    fn(jobs);
    return LSTM97_OK;
}

int lstm97_stop_threads(void)
{
    return LSTM97_OK;
}

int lstm97_n_kept_threads(void)
{
    return 0;
}
#endif /* LSTM97_NO_THREADS */

/* float64: GCC's auto-vectoriser only where it is "very cheap" (no prologue, epilogue or
 * alias check).  The kernels spell out their long vector loops; the auto-vectorised
 * versions of the many short ones cost more than they save on the paper's small nets
 * (the adding net: 16.5 instead of 18.0 us per sequence, bench_step), and large float64
 * nets do not change.  float32 keeps the default model (its large nets lose 20 % with
 * "very cheap").
 *
 * On x86-64 with GCC (or Clang) the kernels of each REAL are compiled three times, for
 * the baseline instruction set, for AVX2 (VEX encoding, fewer register copies, 32-byte
 * vectors) and for AVX-512 (F, VL, DQ, BW: 64-byte vectors), and the public functions
 * choose at run time (lstm97_variants.h).  No build fuses a multiply and an add
 * (-ffp-contract=off; the target lists name no FMA), so all give the same bits;
 * lstm97_set_isa forces a level (for tests). */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#define LSTM97_VERY_CHEAP_VECT 1
#pragma GCC push_options
#pragma GCC optimize("vect-cost-model=very-cheap")
#endif
#if defined(LSTM97_VERY_CHEAP_VECT) && defined(__x86_64__)
#define LSTM97_AVX2_BUILD 1
#define LSTM97_TARGET_PUSH(t) _Pragma("GCC push_options") _Pragma(LSTM97_STR_(GCC target(t)))
#define LSTM97_TARGET_POP _Pragma("GCC pop_options")
#elif defined(__clang__) && defined(__x86_64__) && __clang_major__ >= 9
#define LSTM97_AVX2_BUILD 1
#define LSTM97_TARGET_PUSH(t)                                                              \
    _Pragma(LSTM97_STR_(clang attribute push(__attribute__((target(t))), apply_to = function)))
#define LSTM97_TARGET_POP _Pragma("clang attribute pop")
#endif
#define LSTM97_STR_(x) #x

#ifdef LSTM97_AVX2_BUILD
#include <cpuid.h>

/* The best level the CPU and the operating system support: 3 when CPUID reports AVX-512
 * F, VL, DQ and BW and XGETBV shows the OS saving the SSE, AVX and AVX-512 (opmask, upper
 * ZMM) state; 2 for AVX2 with the SSE and AVX state saved; else 1. */
static int lstm97_cpu_level_detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 1;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return 1;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    if ((xlo & 0x6) != 0x6)                /* XMM and YMM state */
        return 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 1;
    if (!((b >> 5) & 1))                   /* AVX2 */
        return 1;
    const unsigned need512 = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31); /* F DQ BW VL */
    if ((b & need512) == need512 && (xlo & 0xe6) == 0xe6)   /* + opmask, ZMM state */
        return 3;
    return 2;
}

static int lstm97_cpu_level_ = 0;      /* 0: not yet detected (atomic) */
static int lstm97_isa = 0;             /* 0: the best the CPU has, else the level asked */

static int lstm97_cpu_level(void)
{
    int l = __atomic_load_n(&lstm97_cpu_level_, __ATOMIC_RELAXED);
    if (l == 0) {
        l = lstm97_cpu_level_detect();
        __atomic_store_n(&lstm97_cpu_level_, l, __ATOMIC_RELAXED);
    }
    return l;
}

void lstm97_set_isa(int level)
{
    __atomic_store_n(&lstm97_isa, level >= 1 && level <= 3 ? level : 0, __ATOMIC_RELAXED);
}

/* The level whose build the kernels run: the one asked, at most the CPU's */
static inline int lstm97_isa_level(void)
{
    int asked = __atomic_load_n(&lstm97_isa, __ATOMIC_RELAXED), cpu = lstm97_cpu_level();
    return asked == 0 || asked > cpu ? cpu : asked;
}

int lstm97_get_isa(void)
{
    return lstm97_isa_level();
}

int lstm97_cpu_isa(void)
{
    return lstm97_cpu_level();
}
#else
void lstm97_set_isa(int level)
{
    (void)level;
}

int lstm97_get_isa(void)
{
    return 1;
}

int lstm97_cpu_isa(void)
{
    return 1;
}
#endif

/* Each REAL: the kernels, see lstm97_variants.h (x, y -> x_y) */
#define LSTM97_CAT_(a, b) a##_##b
#define LSTM97_CAT(a, b) LSTM97_CAT_(a, b)

#define REAL double
#define TANH tanh
#define SFX f64
#include "lstm97_variants.h"
#undef SFX
#undef REAL
#undef TANH

#ifdef LSTM97_VERY_CHEAP_VECT
#pragma GCC pop_options
#endif

/* float32 keeps the default vectoriser model, except in its tuned step (whose long loops
 * are spelled out in vector lanes): there the "very cheap" model, as for float64, keeps
 * the auto-vectoriser off the short loops over blocks and cells (the adding net, callgrind
 * per step: 1,856 -> 1,715 instructions; see lstm97_step_tuned.h) */
#ifdef LSTM97_VERY_CHEAP_VECT
#define LSTM97_STEP_VERY_CHEAP 1
#endif
#define REAL float
#define TANH tanhf
#define SFX f32
#include "lstm97_variants.h"
#undef SFX
#undef REAL
#undef TANH
#undef LSTM97_STEP_VERY_CHEAP

/* ---- batched inference (lstm97_forward_batch.h): lstm97_run over N sequences on the
 * threads above, for each REAL -------------------------------------------------------- */
#define REAL double
#define SFX f64
#include "lstm97_forward_batch.h"
#undef SFX
#undef REAL

#define REAL float
#define SFX f32
#include "lstm97_forward_batch.h"
#undef SFX
#undef REAL

/* ---- the lanes path of lstm97_train_batch (lstm97_lanes.h) ------------------------- */
void lstm97_set_batch_lanes(int on)
{
    __atomic_store_n(&lstm97_lanes_on, on ? 1 : 0, __ATOMIC_RELAXED);
}

int lstm97_batch_lanes(const lstm97_dims *d)
{
    lstm97_layout L;
    if (!d || lstm97_layout_of(d, &L) != LSTM97_OK)
        return -1;
    return lstm97_lanes_ok(d);
}
