/* Kernel-only timing of lstm97_train_f64 for the cells of the LSTM family at the size of
 * the adding-problem net (I = 2, K = 1, B = 2, S = 2, T = 100), without Python: the
 * minimum over 30 batches of the time per sequence, and the weight count of the cell.
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_family.c csrc/lstm97.c -o /tmp/bench_family -lm -lpthread
 *   /tmp/bench_family [sequences=30000] [kernel: 0 tuned, 1 plain] [cell] [targets: 0 every step, 1 last]
 *
 * cell: 0 the 1997 cell (full sources), 1 forget gate with "cells" sources (the modern
 * cell), 2 forget gate and peepholes with "cells" sources, 3 forget gate and peepholes
 * with full sources.
 */
#include "fastlstm.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 30000;
    int kernel = argc > 2 ? atoi(argv[2]) : LSTM97_KERNEL_FAST;
    int cell = argc > 3 ? atoi(argv[3]) : 1;
    lstm97_dims d = {0};
    d.I = 2;
    d.K = 1;
    d.B = 2;
    d.S = 2;
    d.output_gate = 1;
    d.g = LSTM97_G2;
    d.h = LSTM97_H1;
    d.out = LSTM97_OUT_LOGISTIC;
    d.kernel = kernel;
    d.forget_gate = cell >= 1;
    d.peepholes = cell >= 2;
    d.sources = cell == 1 || cell == 2 ? LSTM97_SOURCES_CELLS : LSTM97_SOURCES_FULL;
    lstm97_layout L;
    if (cell < 0 || cell > 3 || lstm97_layout_of(&d, &L) != LSTM97_OK || reps < 30)
        return 2;
    const int T = 100;
    double *p = calloc(L.n_params, 8), *m = calloc(L.n_params, 8), *x = calloc(T * 2, 8),
           *t = calloc(T, 8), *y = calloc(T, 8), *s = calloc(L.state_len, 8),
           *w = calloc(L.work_len, 8), *dW = calloc(L.n_params, 8);
    if (!p || !m || !x || !t || !y || !s || !w || !dW)
        return 2;
    for (ptrdiff_t i = 0; i < L.n_params; i++) {
        p[i] = 0.1 * ((i * 7919) % 13 - 6) / 6.0;
        m[i] = 1;
    }
    if (d.forget_gate)                           /* forget gates start mostly open */
        for (ptrdiff_t j = 0; j < d.B; j++)
            p[L.W_phi + j * L.nz] = 2.0;
    uint8_t tm[100] = {0};
    tm[T - 1] = 1;
    const uint8_t *tmask = argc > 4 && atoi(argv[4]) == 1 ? tm : NULL;
    for (int i = 0; i < T * 2; i++)
        x[i] = ((i * 31) % 17 - 8) / 8.0;
    double best = 1e30;
    for (int k = 0; k < 30; k++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int r = 0; r < reps / 30; r++)
            if (lstm97_train_f64(&d, p, m, x, t, tmask, T, 1e-9, LSTM97_STEP, y, s, w,
                                 dW) != LSTM97_OK)
                return 1;
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (reps / 30);
        if (ns < best)
            best = ns;
    }
    printf("cell %d, %td weights: %.1f us/sequence  %.1f ns/step  %.2f ns/weight-step\n",
           cell, L.n_params, best / 1e3, best / T, best / T / (double)L.n_params);
    return 0;
}
