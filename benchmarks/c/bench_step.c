/* Kernel-only timing of lstm97_train_f64 / _f32 on a paper's net (default: the adding
 * problem's, 93 weights), T = 100, one update per step, without Python: the minimum over
 * 30 batches of the time per sequence.  Targets at every step, or (third argument 1) only
 * at the last step, as in the adding problem.  The masks are those of fastlstm.LSTM's
 * default topology (lstm97_masks_f64: no input-to-output weights).
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_step.c csrc/lstm97.c -o /tmp/bench_step -lm -lpthread
 *   /tmp/bench_step [sequences=30000] [kernel: 0 tuned, 1 plain] [targets: 0 every step, 1 last]
 *                   [dtype: 0 float64, 1 float32] [net: adding, reber3x2, reber4x1, 6a, 6b]
 *                   [isa: 0 the best the CPU has, 1 baseline, 2 AVX2, 3 AVX-512]
 *
 * Instruction counts per step (repeatable on a loaded machine): the difference of two
 * runs under valgrind --tool=callgrind, e.g. 600 and 300 sequences, over 300 * 100 steps.
 */
#include "fastlstm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T 100

/* the nets of benchmarks/conftest.py and of the paper's tables: I, K, B, S */
static const struct {
    const char *name;
    int32_t I, K, B, S;
} nets[] = {
    {"adding", 2, 1, 2, 2},     /* 93 weights */
    {"reber3x2", 7, 7, 3, 2},
    {"reber4x1", 7, 7, 4, 1},
    {"6a", 8, 4, 2, 2},         /* 156 weights */
    {"6b", 8, 8, 3, 2},         /* 308 weights */
};

static double now_ns(void)
{
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    return a.tv_sec * 1e9 + a.tv_nsec;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 30000;
    int kernel = argc > 2 ? atoi(argv[2]) : LSTM97_KERNEL_FAST;
    int last_only = argc > 3 && atoi(argv[3]) == 1;
    int f32 = argc > 4 && atoi(argv[4]) == 1;
    const char *name = argc > 5 ? argv[5] : "adding";
    lstm97_set_isa(argc > 6 ? atoi(argv[6]) : 0);
    int which = -1;
    for (int i = 0; i < (int)(sizeof nets / sizeof nets[0]); i++)
        if (strcmp(name, nets[i].name) == 0)
            which = i;
    if (which < 0 || reps < 30) {
        fprintf(stderr, "usage: bench_step [sequences>=30] [kernel] [targets] [dtype] "
                        "[adding|reber3x2|reber4x1|6a|6b]\n");
        return 2;
    }
    lstm97_dims d = {nets[which].I, nets[which].K, nets[which].B, nets[which].S, 1, 0,
                     LSTM97_G2, LSTM97_H1, LSTM97_OUT_LOGISTIC, kernel, 0, 0};
    lstm97_layout L;
    if (lstm97_layout_of(&d, &L) != LSTM97_OK)
        return 2;
    const int I = d.I, K = d.K;
    double *p = calloc(L.n_params, 8), *m = calloc(L.n_params, 8), *x = calloc(T * I, 8),
           *t = calloc(T * K, 8), *y = calloc(T * K, 8), *s = calloc(L.state_len, 8),
           *w = calloc(L.work_len, 8), *dW = calloc(L.n_params, 8);
    float *pf = calloc(L.n_params, 4), *mf = calloc(L.n_params, 4), *xf = calloc(T * I, 4),
          *tf = calloc(T * K, 4), *yf = calloc(T * K, 4), *sf = calloc(L.state_len, 4),
          *wf = calloc(L.work_len, 4), *dWf = calloc(L.n_params, 4);
    if (!p || !m || !x || !t || !y || !s || !w || !dW || !pf || !mf || !xf || !tf || !yf ||
        !sf || !wf || !dWf || lstm97_masks_f64(&d, NULL, m) != LSTM97_OK)
        return 2;
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        p[i] = 0.1 * ((i * 7919) % 13 - 6) / 6.0;
    for (int i = 0; i < T * I; i++)
        x[i] = ((i * 31) % 17 - 8) / 8.0;
    for (int i = 0; i < T * K; i++)
        t[i] = ((i * 13) % 7) / 7.0;
    for (ptrdiff_t i = 0; i < L.n_params; i++) {
        pf[i] = (float)p[i];
        mf[i] = (float)m[i];
    }
    for (int i = 0; i < T * I; i++)
        xf[i] = (float)x[i];
    for (int i = 0; i < T * K; i++)
        tf[i] = (float)t[i];
    uint8_t tm[T] = {0};
    tm[T - 1] = 1;
    const uint8_t *tmask = last_only ? tm : NULL;
    double best = 1e30;
    int rc = LSTM97_OK;
    for (int k = 0; k < 30; k++) {
        double a = now_ns();
        for (int r = 0; r < reps / 30; r++)
            rc |= f32 ? lstm97_train_f32(&d, pf, mf, xf, tf, tmask, T, 1e-9, LSTM97_STEP, yf,
                                         sf, wf, dWf)
                      : lstm97_train_f64(&d, p, m, x, t, tmask, T, 1e-9, LSTM97_STEP, y, s, w,
                                         dW);
        double ns = (now_ns() - a) / (reps / 30);
        if (ns < best)
            best = ns;
    }
    if (rc != LSTM97_OK) {
        fprintf(stderr, "kernel error %d\n", rc);
        return 1;
    }
    printf("%s %s %s isa %d: %.2f us/sequence  %.1f ns/step  %.2f ns/weight-step\n", nets[which].name,
           f32 ? "float32" : "float64", kernel ? "plain" : "tuned", lstm97_get_isa(), best / 1e3, best / T,
           best / T / (double)L.n_params);
    return 0;
}
