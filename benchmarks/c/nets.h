/*
 * nets.h -- the net set-up shared by the C benchmarks (benchmarks/c) and the C tests
 * (tests/c): the paper's nets by name, buffers for N sequences of T steps, and fixed
 * (reproducible) parameters, inputs and target masks.  Header-only C99; include it after
 * fastlstm.h.  The benchmarks find it beside them (#include "nets.h"; -Icsrc for
 * fastlstm.h), the C tests through the include directory tests/c/CMakeLists.txt adds.
 * Only nets_buffers_alloc calls the library (lstm97_layout_of): a program that loads the
 * library itself with dlopen (tests/c/test_unload.c) can use the rest.
 */
#ifndef FASTLSTM_NETS_H
#define FASTLSTM_NETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastlstm.h"

/* The 1997 cell as fastlstm.LSTM builds it by default: I inputs, K logistic outputs, B
 * blocks of S cells, output gates, g in [-2, 2], h in [-1, 1], the tuned kernel, full
 * sources, no forget gate, no peepholes. */
static inline lstm97_dims nets_dims(int32_t I, int32_t K, int32_t B, int32_t S)
{
    lstm97_dims d;
    memset(&d, 0, sizeof d);
    d.I = I;
    d.K = K;
    d.B = B;
    d.S = S;
    d.output_gate = 1;
    d.g = LSTM97_G2;
    d.h = LSTM97_H1;
    d.out = LSTM97_OUT_LOGISTIC;
    d.kernel = LSTM97_KERNEL_FAST;
    d.sources = LSTM97_SOURCES_FULL;
    return d;
}

/* The nets of the paper (benchmarks/conftest.py) and of the thread benchmarks, by name
 * (the second names are the older spellings of bench_step's command line). */
static const struct nets_named {
    const char *name, *alias;
    int32_t I, K, B, S;
} nets_table[] = {
    {"adding", NULL, 2, 1, 2, 2},           /* 93 weights */
    {"reber", "reber4x1", 7, 7, 4, 1},      /* 264 weights */
    {"reber32", "reber3x2", 7, 7, 3, 2},
    {"order6a", "6a", 8, 4, 2, 2},          /* 156 weights */
    {"order6b", "6b", 8, 8, 3, 2},          /* 308 weights */
    {"batch", NULL, 8, 4, 5, 4},            /* 1,254 weights: test_bench_parallel.py */
    {"scaling25", NULL, 4, 4, 25, 1},       /* 6,104 weights: scaling.py's S = 1, B = 25 */
};

/* *d = the net called `name` (nets_dims); 0, or -1 for an unknown name (d unchanged) */
static inline int nets_by_name(const char *name, lstm97_dims *d)
{
    for (size_t i = 0; i < sizeof nets_table / sizeof nets_table[0]; i++) {
        const struct nets_named *n = &nets_table[i];
        if (strcmp(name, n->name) == 0 || (n->alias && strcmp(name, n->alias) == 0)) {
            *d = nets_dims(n->I, n->K, n->B, n->S);
            return 0;
        }
    }
    return -1;
}

/* n zeroed bytes (at least one); the program stops with status 2 when out of memory */
static inline void *nets_alloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* v[i] uniform in [lo, hi), from a 64-bit LCG seeded with `seed` */
static inline void nets_uniform(double *v, ptrdiff_t n, unsigned seed, double lo, double hi)
{
    uint64_t s = seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
    for (ptrdiff_t i = 0; i < n; i++) {
        s = s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        v[i] = lo + (hi - lo) * (double)(s >> 11) * (1.0 / 9007199254740992.0);
    }
}

/* The benchmarks' fixed weights: v[i] = scale ((7919 i) mod 13 - 6) / 6, in [-scale,
 * scale] (no two neighbours equal, no random numbers) */
static inline void nets_weights(double *v, ptrdiff_t n, double scale)
{
    for (ptrdiff_t i = 0; i < n; i++)
        v[i] = scale * (double)((i * 7919) % 13 - 6) / 6.0;
}

/* The benchmarks' fixed inputs: v[i] = ((31 i) mod 17 - 8) / 8, in [-1, 1] */
static inline void nets_inputs(double *v, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        v[i] = (double)((i * 31) % 17 - 8) / 8.0;
}

/* Target masks tm (N, T): every > 0, a target at steps 0, every, 2 every, ... of each
 * sequence; every == 0, at the last step of each sequence (the adding problem); every <
 * 0, at each sequence-step with probability 1 / -every (a fixed LCG). */
static inline void nets_targets(uint8_t *tm, int64_t N, int64_t T, int every)
{
    unsigned lcg = 12345;
    for (int64_t n = 0; n < N; n++)
        for (int64_t s = 0; s < T; s++) {
            lcg = lcg * 1103515245u + 12345u;
            tm[n * T + s] = (uint8_t)(every > 0    ? s % every == 0
                                      : every == 0 ? s == T - 1
                                                   : (lcg >> 16) % (unsigned)-every == 0);
        }
}

/* The buffers of N sequences of T steps for lstm97_train_batch_* (N = 1: lstm97_train_*),
 * all zero, of values of real_size bytes (8: double, 4: float): params and masks
 * (n_params each), x (N, T, I), t and y (N, T, K), state, work and dW (N of each), and
 * tmask (N, T). */
typedef struct nets_buffers {
    lstm97_dims d;
    lstm97_layout L;
    int64_t N, T;
    size_t real_size;
    void *p, *m, *x, *t, *y, *state, *work, *dW;
    uint8_t *tmask;
} nets_buffers;

/* 0, or -1 if the dims are invalid, N < 1, T < 1 or real_size is not 4 or 8 */
static inline int nets_buffers_alloc(nets_buffers *b, const lstm97_dims *d, int64_t N,
                                     int64_t T, size_t real_size)
{
    memset(b, 0, sizeof *b);
    if (lstm97_layout_of(d, &b->L) != LSTM97_OK || N < 1 || T < 1 ||
        (real_size != 4 && real_size != 8))
        return -1;
    const size_t P = (size_t)b->L.n_params, n = (size_t)N, nT = n * (size_t)T;
    b->d = *d;
    b->N = N;
    b->T = T;
    b->real_size = real_size;
    b->p = nets_alloc(P * real_size);
    b->m = nets_alloc(P * real_size);
    b->x = nets_alloc(nT * (size_t)d->I * real_size);
    b->t = nets_alloc(nT * (size_t)d->K * real_size);
    b->y = nets_alloc(nT * (size_t)d->K * real_size);
    b->state = nets_alloc(n * (size_t)b->L.state_len * real_size);
    b->work = nets_alloc(n * (size_t)b->L.work_len * real_size);
    b->dW = nets_alloc(n * P * real_size);
    b->tmask = nets_alloc(nT);
    return 0;
}

static inline void nets_buffers_free(nets_buffers *b)
{
    free(b->p);
    free(b->m);
    free(b->x);
    free(b->t);
    free(b->y);
    free(b->state);
    free(b->work);
    free(b->dW);
    free(b->tmask);
    memset(b, 0, sizeof *b);
}

/* a monotonic clock in nanoseconds, for the benchmarks' timings.  Defined only where
 * <time.h> declares POSIX's clock_gettime (the benchmarks build with -std=gnu11); the C
 * tests build as strict C99 and time nothing. */
#ifdef CLOCK_MONOTONIC
static inline double nets_now_ns(void)
{
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    return a.tv_sec * 1e9 + a.tv_nsec;
}
#endif

/* dst[i] = src[i] for i < n, as the buffers' real type (real_size 8: double, 4: float) */
static inline void nets_store(void *dst, size_t real_size, const double *src, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        if (real_size == 4)
            ((float *)dst)[i] = (float)src[i];
        else
            ((double *)dst)[i] = src[i];
    }
}

#endif
