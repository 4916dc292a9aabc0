/* Kernel-only timing of lstm97_train_f64 / _f32 on a paper's net (default: the adding
 * problem's, 93 weights), T = 100, one update per step, without Python: the minimum over
 * 30 batches of the time per sequence.  Targets at every step, or (third argument 1) only
 * at the last step, as in the adding problem.  The masks are those of fastlstm.LSTM's
 * default topology (lstm97_masks_f64: no input-to-output weights).
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_step.c csrc/lstm97.c csrc/lstm97_init.c \
 *       -o /tmp/bench_step -lm -lpthread
 *   /tmp/bench_step [sequences=30000] [kernel: 0 tuned, 1 plain] [targets: 0 every step, 1 last]
 *                   [dtype: 0 float64, 1 float32] [net: adding, reber3x2, reber4x1, 6a, 6b]
 *                   [isa: 0 the best the CPU has, 1 baseline, 2 AVX2, 3 AVX-512]
 *
 * Instruction counts per step (repeatable on a loaded machine): the difference of two
 * runs under valgrind --tool=callgrind, e.g. 600 and 300 sequences, over 300 * 100 steps.
 *
 * The last field printed, "hash", is a 64-bit FNV-1a hash of the bytes of the parameters
 * and of the last sequence's outputs after the run: two builds (or instruction sets)
 * that give the same bits print the same hash for the same arguments.
 */
#include "fastlstm.h"
#include "nets.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T 100

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 30000;
    int kernel = argc > 2 ? atoi(argv[2]) : LSTM97_KERNEL_FAST;
    int last_only = argc > 3 && atoi(argv[3]) == 1;
    int f32 = argc > 4 && atoi(argv[4]) == 1;
    const char *name = argc > 5 ? argv[5] : "adding";
    lstm97_set_isa(argc > 6 ? atoi(argv[6]) : 0);
    lstm97_dims d;
    nets_buffers b64, b32;
    if (nets_by_name(name, &d) != 0 || reps < 30) {
        fprintf(stderr, "usage: bench_step [sequences>=30] [kernel] [targets] [dtype] "
                        "[adding|reber3x2|reber4x1|6a|6b] [isa]\n");
        return 2;
    }
    d.kernel = kernel;
    if (nets_buffers_alloc(&b64, &d, 1, T, 8) != 0 ||
        nets_buffers_alloc(&b32, &d, 1, T, 4) != 0 ||
        lstm97_masks_f64(&d, NULL, b64.m) != LSTM97_OK)
        return 2;
    const lstm97_layout L = b64.L;
    const int I = d.I, K = d.K;
    double *p = b64.p, *m = b64.m, *x = b64.x, *t = b64.t, *y = b64.y, *s = b64.state,
           *w = b64.work, *dW = b64.dW;
    float *pf = b32.p, *mf = b32.m, *xf = b32.x, *tf = b32.t, *yf = b32.y, *sf = b32.state,
          *wf = b32.work, *dWf = b32.dW;
    nets_weights(p, L.n_params, 0.1);
    nets_inputs(x, T * I);
    for (int i = 0; i < T * K; i++)
        t[i] = ((i * 13) % 7) / 7.0;
    nets_store(pf, 4, p, L.n_params);
    nets_store(mf, 4, m, L.n_params);
    nets_store(xf, 4, x, T * I);
    nets_store(tf, 4, t, T * K);
    nets_targets(b64.tmask, 1, T, 0);            /* the last step */
    const uint8_t *tmask = last_only ? b64.tmask : NULL;
    double best = 1e30;
    int rc = LSTM97_OK;
    for (int k = 0; k < 30; k++) {
        double a = nets_now_ns();
        for (int r = 0; r < reps / 30; r++)
            rc |= f32 ? lstm97_train_f32(&d, pf, mf, xf, tf, tmask, T, 1e-9, LSTM97_STEP, yf,
                                         sf, wf, dWf)
                      : lstm97_train_f64(&d, p, m, x, t, tmask, T, 1e-9, LSTM97_STEP, y, s, w,
                                         dW);
        double ns = (nets_now_ns() - a) / (reps / 30);
        if (ns < best)
            best = ns;
    }
    if (rc != LSTM97_OK) {
        fprintf(stderr, "kernel error %d\n", rc);
        return 1;
    }
    uint64_t hash = UINT64_C(14695981039346656037);
    const unsigned char *bytes[2] = {f32 ? (const void *)pf : (const void *)p,
                                     f32 ? (const void *)yf : (const void *)y};
    const size_t nbytes[2] = {(size_t)L.n_params * (f32 ? 4 : 8), (size_t)(T * K) * (f32 ? 4 : 8)};
    for (int a = 0; a < 2; a++)
        for (size_t i = 0; i < nbytes[a]; i++)
            hash = (hash ^ bytes[a][i]) * UINT64_C(1099511628211);
    printf("%s %s %s isa %d: %.2f us/sequence  %.1f ns/step  %.2f ns/weight-step  hash %016llx\n",
           name, f32 ? "float32" : "float64", kernel ? "plain" : "tuned", lstm97_get_isa(),
           best / 1e3, best / T, best / T / (double)L.n_params, (unsigned long long)hash);
    return 0;
}
