/*
 * test_unload.c -- the shared library can be unloaded after lstm97_stop_threads.
 *
 *   test_unload path/to/libfastlstm.so [--no-stop]
 *
 * Loads the library with dlopen, trains a mini-batch on 4 threads (so that 3 worker
 * threads are kept), calls lstm97_stop_threads (twice), unloads the library with dlclose,
 * then waits 50 ms: a worker still running in the unmapped code would crash the process.
 * --no-stop skips lstm97_stop_threads (to see that crash).
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastlstm.h"
#include "nets.h"

typedef int (*layout_fn)(const lstm97_dims *, lstm97_layout *);
typedef int (*masks_fn)(const lstm97_dims *, const lstm97_topology *, double *);
typedef int (*batch_fn)(const lstm97_dims *, double *, const double *, const double *,
                        const double *, const uint8_t *, int64_t, int64_t, double, int, int,
                        double *, double *, double *, double *);
typedef int (*void_fn)(void);

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_unload libfastlstm.so [--no-stop]\n");
        return 2;
    }
    const int stop = !(argc > 2 && strcmp(argv[2], "--no-stop") == 0);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    layout_fn layout_of;
    masks_fn masks;
    batch_fn batch;
    void_fn stop_threads, n_kept, have_threads;
    /* (function pointers from void *: POSIX guarantees the conversion) */
    *(void **)&layout_of = dlsym(lib, "lstm97_layout_of");
    *(void **)&masks = dlsym(lib, "lstm97_masks_f64");
    *(void **)&batch = dlsym(lib, "lstm97_train_batch_f64");
    *(void **)&stop_threads = dlsym(lib, "lstm97_stop_threads");
    *(void **)&n_kept = dlsym(lib, "lstm97_n_kept_threads");
    *(void **)&have_threads = dlsym(lib, "lstm97_have_threads");
    if (!layout_of || !masks || !batch || !stop_threads || !n_kept || !have_threads) {
        fprintf(stderr, "dlsym: a symbol is missing\n");
        return 1;
    }
    lstm97_dims d;
    nets_by_name("adding", &d);
    lstm97_layout L;
    if (layout_of(&d, &L) != LSTM97_OK)
        return 1;
    const int64_t N = 16, T = 20;
    const int nt = have_threads() ? 4 : 1;
    /* (the buffers by hand: nets_buffers_alloc would link the library, loaded here) */
    double *p = nets_alloc((size_t)L.n_params * sizeof(double));
    double *m = nets_alloc((size_t)L.n_params * sizeof(double));
    double *x = nets_alloc((size_t)(N * T * d.I) * sizeof(double));
    double *t = nets_alloc((size_t)(N * T * d.K) * sizeof(double));
    double *y = nets_alloc((size_t)(N * T * d.K) * sizeof(double));
    double *st = nets_alloc((size_t)(N * L.state_len) * sizeof(double));
    double *wk = nets_alloc((size_t)(N * L.work_len) * sizeof(double));
    double *dW = nets_alloc((size_t)(N * L.n_params) * sizeof(double));
    masks(&d, NULL, m);
    int rc = batch(&d, p, m, x, t, NULL, N, T, 0.1, LSTM97_STEP, nt, y, st, wk, dW);
    int kept = n_kept();
    printf("train_batch: %d; %d threads kept\n", rc, kept);
    int bad = rc != LSTM97_OK || kept != nt - 1;
    if (stop) {
        bad |= stop_threads() != LSTM97_OK;
        bad |= stop_threads() != LSTM97_OK;
        bad |= n_kept() != 0;
    }
    dlclose(lib);
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    printf("unloaded; still alive after 50 ms\n");
    free(p);
    free(m);
    free(x);
    free(t);
    free(y);
    free(st);
    free(wk);
    free(dW);
    return bad;
}
