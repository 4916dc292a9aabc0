/* Kernel-only timing of lstm97_train_batch_f64: N sequences of T = 100 on a 1,254-weight
 * net (I = 8, K = 4, 5 blocks of 4 cells), a target at every `every`-th step (0: none;
 * -5: at random 1 in 5 sequence-steps, as in benchmarks/test_bench_parallel.py);
 * the distribution over 400 calls.
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_batch.c csrc/lstm97.c -o /tmp/bench_batch -lm -lpthread
 *   /tmp/bench_batch N n_threads [every=5]
 */
#include "fastlstm.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int N = atoi(argv[1]), nt = atoi(argv[2]), every = argc > 3 ? atoi(argv[3]) : 5;
    const int T = 100;
    lstm97_dims d = {8, 4, 5, 4, 1, 0, LSTM97_G2, LSTM97_H1, LSTM97_OUT_LOGISTIC,
                     LSTM97_KERNEL_FAST};
    lstm97_layout L;
    if (lstm97_layout_of(&d, &L) != LSTM97_OK || N < 1)
        return 2;
    double *p = calloc(L.n_params, 8), *m = calloc(L.n_params, 8),
           *x = calloc((size_t)N * T * 8, 8), *t = calloc((size_t)N * T * 4, 8),
           *y = calloc((size_t)N * T * 4, 8), *s = calloc((size_t)N * L.state_len, 8),
           *w = calloc((size_t)N * L.work_len, 8), *dW = calloc((size_t)N * L.n_params, 8);
    unsigned char *tm = calloc((size_t)N * T, 1);
    /* every > 0: targets at every every-th step of all sequences; every < 0: each step
       of each sequence has a target with probability 1 / -every (a fixed LCG) */
    unsigned lcg = 12345;
    for (int i = 0; i < N * T; i++) {
        lcg = lcg * 1103515245u + 12345u;
        tm[i] = every > 0 ? (i % every) == 0 : every < 0 ? (lcg >> 16) % (unsigned)-every == 0 : 0;
    }
    for (ptrdiff_t i = 0; i < L.n_params; i++) {
        p[i] = 0.01 * ((i * 7919) % 13 - 6);
        m[i] = 1;
    }
    for (int i = 0; i < N * T * 8; i++)
        x[i] = ((i * 31) % 17 - 8) / 8.0;
    enum { CALLS = 400 };
    static double v[CALLS];
    for (int k = 0; k < CALLS; k++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        lstm97_train_batch_f64(&d, p, m, x, t, tm, N, T, 1e-9, LSTM97_STEP, nt, y, s, w, dW);
        clock_gettime(CLOCK_MONOTONIC, &b);
        v[k] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e6;
    }
    qsort(v, CALLS, sizeof(v[0]), cmp_double);
    printf("N=%d threads=%d every=%d: ms per call: min %.3f  p10 %.3f  median %.3f  p90 %.3f\n",
           N, nt, every, v[0], v[CALLS / 10], v[CALLS / 2], v[CALLS * 9 / 10]);
    return 0;
}
