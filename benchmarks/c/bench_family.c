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
#include "nets.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 30000;
    int kernel = argc > 2 ? atoi(argv[2]) : LSTM97_KERNEL_FAST;
    int cell = argc > 3 ? atoi(argv[3]) : 1;
    lstm97_dims d;
    nets_by_name("adding", &d);
    d.kernel = kernel;
    d.forget_gate = cell >= 1;
    d.peepholes = cell >= 2;
    d.sources = cell == 1 || cell == 2 ? LSTM97_SOURCES_CELLS : LSTM97_SOURCES_FULL;
    const int T = 100;
    nets_buffers buf;
    if (cell < 0 || cell > 3 || reps < 30 || nets_buffers_alloc(&buf, &d, 1, T, 8) != 0)
        return 2;
    const lstm97_layout L = buf.L;
    double *p = buf.p, *m = buf.m, *x = buf.x, *t = buf.t, *y = buf.y, *s = buf.state,
           *w = buf.work, *dW = buf.dW;
    nets_weights(p, L.n_params, 0.1);
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        m[i] = 1;
    if (d.forget_gate)                           /* forget gates start mostly open */
        for (ptrdiff_t j = 0; j < d.B; j++)
            p[L.W_phi + j * L.nz] = 2.0;
    nets_targets(buf.tmask, 1, T, 0);            /* the last step */
    const uint8_t *tmask = argc > 4 && atoi(argv[4]) == 1 ? buf.tmask : NULL;
    nets_inputs(x, T * 2);
    double best = 1e30;
    for (int k = 0; k < 30; k++) {
        double a = nets_now_ns();
        for (int r = 0; r < reps / 30; r++)
            if (lstm97_train_f64(&d, p, m, x, t, tmask, T, 1e-9, LSTM97_STEP, y, s, w,
                                 dW) != LSTM97_OK)
                return 1;
        double ns = (nets_now_ns() - a) / (reps / 30);
        if (ns < best)
            best = ns;
    }
    printf("cell %d, %td weights: %.1f us/sequence  %.1f ns/step  %.2f ns/weight-step\n",
           cell, L.n_params, best / 1e3, best / T, best / T / (double)L.n_params);
    return 0;
}
