/* The latency of the kernels' logistic (csrc/lstm97_exp.h): the time of one evaluation
 * when each one waits for the one before, as on the recurrence of a step, where the
 * cell outputs y_c(t-1) feed the net inputs of step t.  On that chain a step of the 1997
 * cell passes through two logistic evaluations one after the other (the gates and g,
 * then h), so twice this latency bounds a step from below whatever else it does.  For
 * scale, the latency of one dependent addition and one dependent multiplication.
 *
 *   gcc -O3 -ffp-contract=off -Icsrc benchmarks/c/bench_latency.c -o /tmp/bench_latency -lm
 *   /tmp/bench_latency [evaluations=20000000] [rounds=7]
 *
 * Prints the minimum over the rounds of ns per evaluation: the scalar logistic and, on a
 * CPU with AVX2, the four-lane one (each with the subtraction that feeds it back).
 */
#include "lstm97_exp.h"
#include "nets.h"
#include <stdio.h>
#include <stdlib.h>

static double chain_sig(long n, double x)
{
    for (long i = 0; i < n; i++)
        x = lstm97_sig(x) - 0.25;
    return x;
}

static double chain_add(long n, double a)
{
    for (long i = 0; i < n; i++)
        a = a + 1e-9;
    return a;
}

static double chain_mul(long n, double m)
{
    for (long i = 0; i < n; i++)
        m = m * (i & 1 ? 1.0000001 : 0.9999999);
    return m;
}

#ifdef LSTM97_HAVE_SIG4
__attribute__((target("avx2"))) static double chain_sig4(long n, double s)
{
    lstm97_v4d x = {s, s + 0.1, s + 0.2, s + 0.3}, q = {0.25, 0.25, 0.25, 0.25};
    for (long i = 0; i < n; i++)
        x = lstm97_sig4(x) - q;
    return x[0] + x[3];
}
#endif

/* minimum over the rounds of ns per link of f's chain; the seed is volatile so that the
 * compiler cannot fold a chain */
static double time_chain(double (*f)(long, double), long n, int rounds)
{
    volatile double seed = 0.3;
    double best = 1e300;
    for (int r = 0; r < rounds; r++) {
        double t0 = nets_now_ns();
        double v = f(n, seed);
        double dt = (nets_now_ns() - t0) / (double)n;
        best = dt < best ? dt : best;
        seed = v * 1e-300 + 0.3;
    }
    return best;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (n < 1 || rounds < 1) {
        fprintf(stderr, "usage: bench_latency [evaluations >= 1] [rounds >= 1]\n");
        return 2;
    }
    printf("dependent logistic, scalar:    %.2f ns\n", time_chain(chain_sig, n, rounds));
#ifdef LSTM97_HAVE_SIG4
    if (__builtin_cpu_supports("avx2"))
        printf("dependent logistic, four-lane: %.2f ns\n", time_chain(chain_sig4, n, rounds));
#endif
    printf("dependent addition:            %.3f ns\n", time_chain(chain_add, n, rounds));
    printf("dependent multiplication:      %.3f ns\n", time_chain(chain_mul, n, rounds));
    return 0;
}
