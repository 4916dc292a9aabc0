/* Kernel-only timing of lstm97_train_batch_f64: N sequences of T = 100 on a 1,254-weight
 * net (I = 8, K = 4, 5 blocks of 4 cells), a target at every `every`-th step (0: none;
 * -5: at random 1 in 5 sequence-steps, as in benchmarks/test_bench_parallel.py);
 * the distribution over 400 calls.  n_threads 0: the count lstm97_batch_threads_f64 picks
 * from up to 2 (the default of LSTM.train_batch with set_num_threads(2)); schedule 0
 * "step" (the default), 1 "sequence".
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_batch.c csrc/lstm97.c -o /tmp/bench_batch -lm -lpthread
 *   /tmp/bench_batch N n_threads [every=5] [schedule=0]
 */
#include "fastlstm.h"
#include "nets.h"
#include <stdio.h>
#include <stdlib.h>

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
    const int schedule = argc > 4 && atoi(argv[4]) == 1 ? LSTM97_SEQUENCE : LSTM97_STEP;
    const int T = 100;
    /* the net of nets.h "batch", every weight connected */
    lstm97_dims d;
    nets_buffers b;
    if (nets_by_name("batch", &d) != 0 || N < 1 || nets_buffers_alloc(&b, &d, N, T, 8) != 0)
        return 2;
    double *p = b.p, *m = b.m, *x = b.x, *t = b.t, *y = b.y, *s = b.state, *w = b.work,
           *dW = b.dW;
    unsigned char *tm = b.tmask;
    /* every > 0: targets at every every-th step of all sequences; every < 0: each step
       of each sequence has a target with probability 1 / -every (a fixed LCG); 0: none */
    if (every != 0)
        nets_targets(tm, N, T, every);
    nets_weights(p, b.L.n_params, 0.06);
    for (ptrdiff_t i = 0; i < b.L.n_params; i++)
        m[i] = 1;
    nets_inputs(x, (ptrdiff_t)N * T * d.I);
    const int asked = nt;
    if (nt == 0)
        nt = lstm97_batch_threads_f64(&d, tm, N, T, schedule, 2);
    if (nt < 1)
        return 2;
    enum { CALLS = 400 };
    static double v[CALLS];
    for (int k = 0; k < CALLS; k++) {
        double a = nets_now_ns();
        lstm97_train_batch_f64(&d, p, m, x, t, tm, N, T, 1e-9, schedule, nt, y, s, w, dW);
        v[k] = (nets_now_ns() - a) / 1e6;
    }
    qsort(v, CALLS, sizeof(v[0]), cmp_double);
    printf("N=%d threads=%d%s every=%d schedule=%s: ms per call: min %.3f  p10 %.3f  "
           "median %.3f  p90 %.3f\n", N, nt, asked == 0 ? " (default)" : "", every,
           schedule == LSTM97_STEP ? "step" : "sequence", v[0], v[CALLS / 10], v[CALLS / 2],
           v[CALLS * 9 / 10]);
    return 0;
}
