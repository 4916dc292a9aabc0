/* Kernel-only timing of lstm97_train_batch_f64: N sequences of T = 100 on a 1,254-weight
 * net (I = 8, K = 4, 5 blocks of 4 cells), a target at every `every`-th step (0: none);
 * the minimum over 20 x 10 calls.
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_batch.c csrc/lstm97.c -o /tmp/bench_batch -lm -lpthread
 *   /tmp/bench_batch N n_threads [every=5]
 */
#include "fastlstm.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
    for (int i = 0; i < N * T; i++)
        tm[i] = every ? (i % every) == 0 : 0;
    for (ptrdiff_t i = 0; i < L.n_params; i++) {
        p[i] = 0.01 * ((i * 7919) % 13 - 6);
        m[i] = 1;
    }
    for (int i = 0; i < N * T * 8; i++)
        x[i] = ((i * 31) % 17 - 8) / 8.0;
    double best = 1e30;
    for (int k = 0; k < 20; k++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int r = 0; r < 10; r++)
            lstm97_train_batch_f64(&d, p, m, x, t, tm, N, T, 1e-9, LSTM97_STEP, nt, y, s,
                                   w, dW);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double v = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 10;
        if (v < best)
            best = v;
    }
    printf("N=%d threads=%d every=%d: %.3f ms per call\n", N, nt, every, best / 1e6);
    return 0;
}
