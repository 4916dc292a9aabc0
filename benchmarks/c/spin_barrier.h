/* The two-thread spin barrier of the benchmarks: the kernel's (csrc/lstm97.c,
 * lstm97_barrier_wait) without its abort flag; spins, then yields the processor. */
#ifndef BENCH_SPIN_BARRIER_H
#define BENCH_SPIN_BARRIER_H
#include <sched.h>

static int barrier_waiting;
static unsigned barrier_generation;

static void barrier_wait(void)
{
    unsigned g = __atomic_load_n(&barrier_generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&barrier_waiting, 1, __ATOMIC_ACQ_REL) == 2) {
        __atomic_store_n(&barrier_waiting, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&barrier_generation, 1, __ATOMIC_RELEASE);
        return;
    }
    for (long s = 0; __atomic_load_n(&barrier_generation, __ATOMIC_ACQUIRE) == g; s++)
        if (s > 2000)
            sched_yield();
}
#endif
