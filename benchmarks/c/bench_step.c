/* Kernel-only timing of lstm97_train_f64 on the adding-problem net (93 weights, T = 100),
 * without Python: the minimum over 30 batches of the time per sequence.  Targets at every
 * step, or (third argument 1) only at the last step, as in the adding problem.
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_step.c csrc/lstm97.c -o /tmp/bench_step -lm -lpthread
 *   /tmp/bench_step [sequences=30000] [kernel: 0 tuned, 1 plain] [targets: 0 every step, 1 last]
 */
#include "fastlstm.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 30000;
    lstm97_dims d = {2, 1, 2, 2, 1, 0, LSTM97_G2, LSTM97_H1, LSTM97_OUT_LOGISTIC,
                     argc > 2 ? atoi(argv[2]) : LSTM97_KERNEL_FAST};
    lstm97_layout L;
    if (lstm97_layout_of(&d, &L) != LSTM97_OK || reps < 30)
        return 2;
    const int T = 100;
    double *p = calloc(L.n_params, 8), *m = calloc(L.n_params, 8), *x = calloc(T * 2, 8),
           *t = calloc(T, 8), *y = calloc(T, 8), *s = calloc(L.state_len, 8),
           *w = calloc(L.work_len, 8), *dW = calloc(L.n_params, 8);
    for (ptrdiff_t i = 0; i < L.n_params; i++) {
        p[i] = 0.1 * ((i * 7919) % 13 - 6) / 6.0;
        m[i] = 1;
    }
    uint8_t tm[100] = {0};
    tm[T - 1] = 1;
    const uint8_t *tmask = argc > 3 && atoi(argv[3]) == 1 ? tm : NULL;
    for (int i = 0; i < T * 2; i++)
        x[i] = ((i * 31) % 17 - 8) / 8.0;
    double best = 1e30;
    for (int k = 0; k < 30; k++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int r = 0; r < reps / 30; r++)
            lstm97_train_f64(&d, p, m, x, t, tmask, T, 1e-9, LSTM97_STEP, y, s, w, dW);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (reps / 30);
        if (ns < best)
            best = ns;
    }
    printf("%.1f us/sequence  %.1f ns/step  %.2f ns/weight-step\n", best / 1e3, best / T,
           best / T / 93);
    return 0;
}
