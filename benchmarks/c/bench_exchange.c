/* What it costs two threads to hand each other a row of numbers, as train_batch's update
 * does (each thread reads the dW row the other wrote): at each step each thread writes
 * `bytes` into its own buffer, both meet at a spin barrier, each reads the other's
 * buffer, both meet again.  Prints the time per step and per 64-byte line read from the
 * other core, and the same with 64 bytes (the two barriers alone).
 *
 * The mean update of train_batch moves one dW row per thread and update: W = 1254 weights
 * are 10,032 bytes.  On this VM the figure is not a constant: 8-21 ns per line at some
 * times, 42-50 ns at others (presumably where the host runs the two vCPUs), while
 * independent work on the two threads runs at 2.0x throughout (docs/performance.md).
 *
 *   gcc -O2 benchmarks/c/bench_exchange.c -o /tmp/bench_exchange -lpthread
 *   /tmp/bench_exchange [bytes=10032] [steps=20000]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "spin_barrier.h"

static long n_doubles, steps;
static double *buf[2];
static double elapsed[2];
static volatile double sink;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void *run(void *arg)
{
    const int me = (int)(long)arg;
    double acc = 0, t0 = now();
    for (long s = 0; s < steps; s++) {
        double *mine = buf[me], *other = buf[!me];
        for (long i = 0; i < n_doubles; i++)
            mine[i] = (double)(s + i);
        barrier_wait();
        for (long i = 0; i < n_doubles; i++)
            acc += other[i];
        barrier_wait();
    }
    elapsed[me] = now() - t0;
    sink = acc;
    return NULL;
}

static double per_step(long bytes)
{
    n_doubles = bytes / 8 > 0 ? bytes / 8 : 1;
    for (int k = 0; k < 2; k++)
        buf[k] = aligned_alloc(64, ((size_t)n_doubles * 8 + 63) / 64 * 64);
    pthread_t th;
    pthread_create(&th, NULL, run, (void *)1L);
    run((void *)0L);
    pthread_join(th, NULL);
    free(buf[0]);
    free(buf[1]);
    return (elapsed[0] > elapsed[1] ? elapsed[0] : elapsed[1]) / steps;
}

int main(int argc, char **argv)
{
    long bytes = argc > 1 ? atol(argv[1]) : 10032;
    steps = argc > 2 ? atol(argv[2]) : 20000;
    double base = per_step(64), full = per_step(bytes);
    double lines = (double)((bytes + 63) / 64);
    printf("two barriers: %.2f us per step; %ld bytes each way: %.2f us per step, "
           "%.1f ns per line beyond the barriers\n",
           base * 1e6, bytes, full * 1e6, (full - base) / lines * 1e9);
    return 0;
}
