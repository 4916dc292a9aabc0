/* How much two threads lose to meeting at a barrier on this machine, without any data
 * exchanged: each thread runs `work` iterations of a dependent multiply-add chain (a few
 * us), then waits at a spin barrier like the one of lstm97_train_batch, `steps` times.
 * Prints the efficiency (one-thread time of one thread's work / two-thread time), for one
 * long run and for a thread created per call of 100 steps (as train_batch does).
 *
 *   gcc -O2 benchmarks/c/bench_barrier.c -o /tmp/bench_barrier -lpthread
 *   /tmp/bench_barrier [work=5000] [steps=20000]
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "spin_barrier.h"

static int work_iters, steps;
static volatile double sink;

static void work(void)
{
    double a = 1;
    for (int i = 0; i < work_iters; i++)
        a = a * 1.0000001 + 1e-9;
    sink = a;
}

static void *run(void *n_steps)
{
    for (long i = 0; i < (long)n_steps; i++) {
        work();
        barrier_wait();
    }
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv)
{
    work_iters = argc > 1 ? atoi(argv[1]) : 5000;
    steps = argc > 2 ? atoi(argv[2]) : 20000;
    double t0 = now();
    for (int i = 0; i < steps; i++)
        work();
    double one = now() - t0;

    pthread_t th;
    t0 = now();
    pthread_create(&th, NULL, run, (void *)(long)steps);
    run((void *)(long)steps);
    pthread_join(th, NULL);
    double two = now() - t0;

    t0 = now();
    for (int c = 0; c < steps / 100; c++) {
        pthread_create(&th, NULL, run, (void *)100L);
        run((void *)100L);
        pthread_join(th, NULL);
    }
    double per_call = now() - t0;
    printf("work %.2f us per step: one long run %.2f us per step (efficiency %.2f); "
           "a thread per call of 100 steps %.2f us (efficiency %.2f)\n",
           one / steps * 1e6, two / steps * 1e6, one / two,
           per_call / (steps / 100 * 100) * 1e6, one / per_call);
    return 0;
}
