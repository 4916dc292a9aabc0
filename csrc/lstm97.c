/*
 * lstm97.c -- layout of the buffers and the float64 / float32 kernels.
 * The kernels themselves are in lstm97_impl.h, compiled once per REAL type.
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
    if (d->forget_gate != 0)
        return LSTM97_ERR_UNSUPPORTED;
    if (d->kernel != LSTM97_KERNEL_FAST && d->kernel != LSTM97_KERNEL_NAIVE)
        return LSTM97_ERR_DIMS;
    if (d->g < LSTM97_G2 || d->g > LSTM97_G_ID ||
        d->h < LSTM97_H1 || d->h > LSTM97_H_G1 ||
        d->out < LSTM97_OUT_LOGISTIC || d->out > LSTM97_OUT_LINEAR)
        return LSTM97_ERR_ACTIVATION;

    ptrdiff_t I = d->I, K = d->K, B = d->B, C = (ptrdiff_t)d->B * d->S;
    ptrdiff_t n_gates = d->output_gate ? 2 : 1;
    L->C = C;
    L->nz = 1 + I + C + n_gates * B;
    L->nu = 1 + I + C;
    L->W_in = 0;
    L->W_out = d->output_gate ? B * L->nz : -1;
    L->W_c = n_gates * B * L->nz;
    L->W_k = L->W_c + C * L->nz;
    L->n_params = L->W_k + K * L->nu;
    L->state_len = L->nz + C + 2 * C * L->nz;           /* z, s, dS_c, dS_in */
    L->work_len = L->nu + 3 * B + 5 * C + 2 * K          /* activations and errors */
                  + n_gates * B + C + K                   /* mask row flags */
                  + I;                                    /* nonzero-input indices */
    return LSTM97_OK;
}

int64_t lstm97_tape_len(const lstm97_dims *d, int64_t T)
{
    lstm97_layout L;
    if (lstm97_layout_of(d, &L) != LSTM97_OK || T < 0)
        return -1;
    const int64_t B = d->B, C = L.C, K = d->K;
    const int64_t rec = L.nz + 2 * B + 3 * C;
    if (T > (INT64_MAX / 8 - L.nz - L.nu - K - 5 * C - 2 * B) / rec)
        return -1;
    return T * rec + L.nu + K + 5 * C + 2 * B + L.nz;
}

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

static int lstm97_run_threads(int n, void *(*fn)(void *), void *jobs, size_t job_size)
{
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

/* float64: GCC's auto-vectoriser only where it is "very cheap" (no prologue, epilogue or
 * alias check).  The kernels spell out their long vector loops; the auto-vectorised
 * versions of the many short ones cost more than they save on the paper's small nets
 * (the adding net: 16.5 instead of 18.0 us per sequence, bench_step), and large float64
 * nets do not change.  float32 keeps the default model (its large nets lose 20 % with
 * "very cheap").
 *
 * On x86-64 with GCC the kernels of each REAL are compiled twice, for the baseline
 * instruction set and for AVX2 (VEX encoding, fewer register copies: the adding net 15.1
 * instead of 15.4 us per sequence, large float64 nets 5-8 % faster), and the public
 * functions choose at run time (lstm97_variants.h).  Neither build fuses a multiply and
 * an add (-ffp-contract=off; the AVX2 build has no FMA), so both give the same bits;
 * lstm97_set_isa(1) forces the baseline (for tests). */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#define LSTM97_VERY_CHEAP_VECT 1
#pragma GCC push_options
#pragma GCC optimize("vect-cost-model=very-cheap")
#endif
#if defined(LSTM97_VERY_CHEAP_VECT) && defined(__x86_64__)
#define LSTM97_AVX2_BUILD 1
#endif

#ifdef LSTM97_AVX2_BUILD
static int lstm97_isa = 0;            /* 0: the best the CPU has, 1: baseline */

void lstm97_set_isa(int baseline)
{
    __atomic_store_n(&lstm97_isa, baseline ? 1 : 0, __ATOMIC_RELAXED);
}

static inline int lstm97_use_avx2(void)
{
    return __atomic_load_n(&lstm97_isa, __ATOMIC_RELAXED) == 0 &&
           __builtin_cpu_supports("avx2");
}

int lstm97_get_isa(void)
{
    return lstm97_use_avx2() ? 2 : 1;
}
#else
void lstm97_set_isa(int baseline)
{
    (void)baseline;
}

int lstm97_get_isa(void)
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

#define REAL float
#define TANH tanhf
#define SFX f32
#include "lstm97_variants.h"
#undef SFX
#undef REAL
#undef TANH
