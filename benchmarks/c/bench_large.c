/* Kernel-only timing of the one-sequence step on large nets (scaling.py's nets: I = K = 4,
 * B blocks of S cells, the default topology), without Python: lstm97_train_* with the
 * schedule "step" and a target at every step (what scaling.py times), or one pass alone
 * (a target at no step: forward, traces, no update; lstm97_forward_*: the forward pass
 * alone).  Prints the minimum over `rounds` of the time per step, in ns per weight-step.
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_large.c csrc/lstm97.c csrc/lstm97_init.c \
 *       -o /tmp/bench_large -lm -lpthread
 *   /tmp/bench_large [B=50] [S=1] [dtype: 0 float64, 1 float32] [isa: 0 best, 1, 2, 3]
 *                    [what: 0 train, target every step; 1 train, no target; 2 forward]
 *                    [steps per round=2000] [rounds=15]
 *
 * Instruction counts (repeatable on a loaded machine): run it under
 * valgrind --tool=callgrind with two step counts and take the difference, e.g.
 *   valgrind --tool=callgrind --dump-instr=yes /tmp/bench_large 50 1 0 2 0 200 1
 * (callgrind_annotate --auto=yes on the output: instructions per source line).
 */
#include "fastlstm.h"
#include "nets.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const int B = argc > 1 ? atoi(argv[1]) : 50;
    const int S = argc > 2 ? atoi(argv[2]) : 1;
    const int f32 = argc > 3 && atoi(argv[3]) == 1;
    lstm97_set_isa(argc > 4 ? atoi(argv[4]) : 0);
    const int what = argc > 5 ? atoi(argv[5]) : 0;
    const int T = argc > 6 ? atoi(argv[6]) : 2000;
    const int rounds = argc > 7 ? atoi(argv[7]) : 15;
    lstm97_dims d = nets_dims(4, 4, B, S);
    nets_buffers b64, b32;
    if (B < 1 || S < 1 || what < 0 || what > 2 || T < 1 || rounds < 1 ||
        nets_buffers_alloc(&b64, &d, 1, T, 8) != 0 ||
        nets_buffers_alloc(&b32, &d, 1, T, 4) != 0 ||
        lstm97_masks_f64(&d, NULL, b64.m) != LSTM97_OK) {
        fprintf(stderr, "usage: bench_large [B>=1] [S>=1] [dtype 0|1] [isa 0-3] "
                        "[what 0|1|2] [steps>=1] [rounds>=1]\n");
        return 2;
    }
    const lstm97_layout L = b64.L;
    double *p = b64.p, *m = b64.m, *x = b64.x, *t = b64.t, *y = b64.y, *s = b64.state,
           *w = b64.work, *dW = b64.dW;
    float *pf = b32.p, *mf = b32.m, *xf = b32.x, *tf = b32.t, *yf = b32.y, *sf = b32.state,
          *wf = b32.work, *dWf = b32.dW;
    nets_weights(p, L.n_params, 0.1);
    nets_inputs(x, (ptrdiff_t)T * 4);
    for (int i = 0; i < T * 4; i++)
        t[i] = ((i * 13) % 7) / 7.0;
    nets_store(pf, 4, p, L.n_params);
    nets_store(mf, 4, m, L.n_params);
    nets_store(xf, 4, x, (ptrdiff_t)T * 4);
    nets_store(tf, 4, t, (ptrdiff_t)T * 4);
    /* b64.tmask is all zero: no target (what 1) */
    const uint8_t *tmask = what == 1 ? b64.tmask : NULL;
    double best = 1e30;
    int rc = LSTM97_OK;
    for (int k = 0; k < rounds; k++) {
        double a = nets_now_ns();
        if (what == 2)
            rc |= f32 ? lstm97_forward_f32(&d, pf, xf, T, yf, sf, wf)
                      : lstm97_forward_f64(&d, p, x, T, y, s, w);
        else
            rc |= f32 ? lstm97_train_f32(&d, pf, mf, xf, tf, tmask, T, 1e-9f, LSTM97_STEP, yf,
                                         sf, wf, dWf)
                      : lstm97_train_f64(&d, p, m, x, t, tmask, T, 1e-9, LSTM97_STEP, y, s, w,
                                         dW);
        double ns = nets_now_ns() - a;
        if (ns < best)
            best = ns;
    }
    if (rc != LSTM97_OK) {
        fprintf(stderr, "kernel error %d\n", rc);
        return 1;
    }
    static const char *whats[] = {"train", "traces", "forward"};
    printf("B %d S %d weights %lld %s isa %d %s: %.1f ns/step  %.3f ns/weight-step\n", B, S,
           (long long)L.n_params, f32 ? "float32" : "float64", lstm97_get_isa(), whats[what],
           best / T, best / T / (double)L.n_params);
    nets_buffers_free(&b64);
    nets_buffers_free(&b32);
    return 0;
}
