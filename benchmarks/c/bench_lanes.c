/* Kernel-only runs of lstm97_train_batch on the paper's nets at N sequences, one thread,
 * for instruction counts (valgrind --tool=callgrind) and wall-clock timings of the lanes
 * path against the per-sequence path (lstm97_set_batch_lanes(0)).
 *
 *   net: adding (2 in, 1 out, 2 blocks of 2, T = 100, a target at the last step),
 *        reber  (7 in, 7 out, 4 blocks of 1, one-hot inputs, a target at every step),
 *        reber32 (the same with 3 blocks of 2),
 *        order6b (8 in, 8 out, 3 blocks of 2, one-hot inputs, a target at every step)
 *   The default connectivity (lstm97_masks), weights in [-0.1, 0.1], learning rate 1e-9
 *   (the weights hardly move: every call does the same work).
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_lanes.c csrc/lstm97.c csrc/lstm97_init.c \
 *       -o /tmp/bench_lanes -lm -lpthread
 *   /tmp/bench_lanes NET f64|f32 lanes(0|1) [N=32] [calls=200] [lr=1e-9]
 *   valgrind --tool=callgrind --toggle-collect='batch_worker*' /tmp/bench_lanes adding f64 1 32 1
 * Prints the minimum and median time per call and per sequence, and a hash of the bytes
 * of the weights and outputs after the last call (the same with lanes 0 and 1, and on
 * every build: a quick bitwise check; with lr 0.1 the weights move visibly).  The
 * environment variable LSTM97_ISA=1|2|3 forces the baseline, AVX2 or AVX-512 build.
 */
#include "fastlstm.h"
#include "nets.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s adding|reber|reber32|order6b f64|f32 lanes [N] [calls]\n",
                argv[0]);
        return 2;
    }
    const char *net = argv[1];
    int f32 = strcmp(argv[2], "f32") == 0, lanes = atoi(argv[3]);
    int N = argc > 4 ? atoi(argv[4]) : 32, calls = argc > 5 ? atoi(argv[5]) : 200;
    double lr = argc > 6 ? atof(argv[6]) : 1e-9;
    lstm97_dims d;
    int T, every, onehot;
    if (nets_by_name(net, &d) != 0)
        return 2;
    if (strcmp(net, "adding") == 0) {
        T = 100, every = 0, onehot = 0;
    } else if (strcmp(net, "reber") == 0 || strcmp(net, "reber32") == 0) {
        T = 12, every = 1, onehot = 1;
    } else if (strcmp(net, "order6b") == 0) {
        T = 100, every = 1, onehot = 1;
    } else {
        return 2;
    }
    const size_t sz = f32 ? 4 : 8;
    nets_buffers nb;                   /* the buffers the kernel reads, of its REAL */
    if (N < 1 || calls < 1 || nets_buffers_alloc(&nb, &d, N, T, sz) != 0)
        return 2;
    const lstm97_layout L = nb.L;
    size_t P = (size_t)L.n_params;
    void *pr = nb.p, *mr = nb.m, *xr = nb.x, *tr = nb.t, *yr = nb.y, *s = nb.state, *w = nb.work,
         *dW = nb.dW;
    unsigned char *tm = nb.tmask;
    /* the values in double, then stored as the kernel's REAL */
    double *p = nets_alloc(P * 8), *m = nets_alloc(P * 8);
    double *x = nets_alloc((size_t)N * T * d.I * 8), *t = nets_alloc((size_t)N * T * d.K * 8);
    if (lstm97_masks_f64(&d, NULL, m) != LSTM97_OK)
        return 2;
    unsigned lcg = 12345;
#define RND() (lcg = lcg * 1103515245u + 12345u, (double)(lcg >> 8) / (double)(1u << 24))
    for (size_t i = 0; i < P; i++)
        p[i] = (0.2 * RND() - 0.1) * m[i];
    for (int n = 0; n < N; n++)
        for (int s_ = 0; s_ < T; s_++) {
            double *xs = x + ((size_t)n * T + s_) * d.I;
            if (onehot)
                xs[(int)(RND() * d.I) % d.I] = 1;
            else
                for (int i = 0; i < d.I; i++)
                    xs[i] = i == 1 ? (s_ == 3 || s_ == 50) : 2 * RND() - 1;
            for (int k = 0; k < d.K; k++)
                t[((size_t)n * T + s_) * d.K + k] = RND() < 0.3;
        }
    nets_targets(tm, N, T, every);     /* every step, or (every 0) the last */
    nets_store(pr, sz, p, (ptrdiff_t)P);
    nets_store(mr, sz, m, (ptrdiff_t)P);
    nets_store(xr, sz, x, (ptrdiff_t)((size_t)N * T * d.I));
    nets_store(tr, sz, t, (ptrdiff_t)((size_t)N * T * d.K));
    lstm97_set_batch_lanes(lanes);
    if (getenv("LSTM97_ISA"))              /* force a build: 1 baseline, 2 AVX2, 3 AVX-512 */
        lstm97_set_isa(atoi(getenv("LSTM97_ISA")));
    double *v = calloc((size_t)calls, sizeof(double));
    for (int k = 0; k < calls; k++) {
        double a = nets_now_ns();
        int rc = f32 ? lstm97_train_batch_f32(&d, pr, mr, xr, tr, tm, N, T, lr, LSTM97_STEP, 1,
                                              yr, s, w, dW)
                     : lstm97_train_batch_f64(&d, pr, mr, xr, tr, tm, N, T, lr, LSTM97_STEP, 1,
                                              yr, s, w, dW);
        double b = nets_now_ns();
        if (rc != LSTM97_OK) {
            fprintf(stderr, "train_batch: %d\n", rc);
            return 1;
        }
        v[k] = (b - a) / 1e3;
    }
    qsort(v, (size_t)calls, sizeof(v[0]), cmp_double);
    double y0 = f32 ? ((float *)yr)[0] : ((double *)yr)[0];
    unsigned long long h = 1469598103934665603ull;          /* FNV-1a of weights, outputs */
    for (size_t i = 0; i < P * sz; i++)
        h = (h ^ ((const unsigned char *)pr)[i]) * 1099511628211ull;
    for (size_t i = 0; i < (size_t)N * T * d.K * sz; i++)
        h = (h ^ ((const unsigned char *)yr)[i]) * 1099511628211ull;
    printf("%s %s lanes=%d N=%d T=%d P=%zu: us per call min %.1f median %.1f; "
           "per sequence min %.3f median %.3f (y[0] %.17g, hash %016llx)\n",
           net, f32 ? "f32" : "f64", lanes, N, T, P, v[0], v[calls / 2], v[0] / N,
           v[calls / 2] / N, y0, h);
    free(p), free(m), free(x), free(t), free(tm), free(pr), free(mr), free(xr), free(tr);
    free(yr), free(s), free(w), free(dW), free(v);
    return 0;
}
