/*
 * adding.c -- the adding problem (the paper's Experiment 4) trained from C with
 * libfastlstm: the C twin of `python -m fastlstm demo`.
 *
 * The same net (2 blocks of 2 cells, 2 inputs, 1 logistic output, output gates, all
 * non-input units biased: 93 weights, initial weights uniform in [-0.1, 0.1], input-gate
 * biases -3 and -6), the same on-line rule (lr 0.5, an update at the last step) and the
 * same stopping criterion ST3(0.01): the mean absolute error over the 2000 most recent
 * training sequences is below 0.01 and none of them is wrong (|error| >= 0.04).  Then
 * 2560 test sequences.  The random numbers are this file's own generator, so the
 * sequences (and the number of sequences needed) differ from the Python demo's.
 *
 *   adding [--T 100] [--seed 0] [--max-sequences 300000] [--lr 0.5] [--test 2560]
 *          [--quiet]      (--quiet: no timings, so two runs print the same text)
 *
 * Build against an installed libfastlstm: see CMakeLists.txt (find_package) and Makefile
 * (pkg-config) beside this file, and docs/c-api.md.
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fastlstm.h>

/* ---- the example's random numbers: splitmix64 ---------------------------------------- */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double rng_uniform(double lo, double hi)   /* [lo, hi) */
{
    return lo + (hi - lo) * ((double)(rng_next() >> 11) * (1.0 / 9007199254740992.0));
}

static int64_t rng_int(int64_t n)                 /* [0, n) */
{
    return (int64_t)(rng_uniform(0.0, 1.0) * (double)n);
}

/* ---- the task ----------------------------------------------------------------------------
 * A sequence of pairs [value, marker]; its length is uniform in [T, T + T/10].  One of the
 * first ten pairs is marked (X1), then one of the first T/2 - 1 still unmarked pairs
 * (X2); markers are 1 there, -1 at the first and last pair unless marked, 0 elsewhere.
 * A marked first pair counts as 0.  Target at the last step: 0.5 + (X1 + X2) / 4. */
static int64_t sample(int64_t T, double *x, double *target)
{
    const int64_t len = T + rng_int(T / 10 + 1);
    for (int64_t i = 0; i < len; i++) {
        x[2 * i] = rng_uniform(-1.0, 1.0);
        x[2 * i + 1] = 0.0;
    }
    const int64_t i1 = rng_int(10), j = rng_int(T / 2 - 1);
    const int64_t i2 = j < i1 ? j : j + 1;
    x[1] = x[2 * (len - 1) + 1] = -1.0;
    x[2 * i1 + 1] = x[2 * i2 + 1] = 1.0;
    if (i1 == 0 || i2 == 0)
        x[0] = 0.0;
    *target = 0.5 + (x[2 * i1] + x[2 * i2]) / 4.0;
    return len;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "adding: %s failed with status %d\n", what, rc);
    return 1;
}

int main(int argc, char **argv)
{
    long T = 100, seed = 0, max_sequences = 300000, n_test = 2560;
    double lr = 0.5;
    int quiet = 0;
    for (int a = 1; a < argc; a++) {
        const char *o = argv[a];
        if (strcmp(o, "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (a + 1 >= argc) {
            fprintf(stderr, "usage: adding [--T N] [--seed N] [--max-sequences N] "
                            "[--lr X] [--test N] [--quiet]\n");
            return 2;
        }
        const char *v = argv[++a];
        if (strcmp(o, "--T") == 0)
            T = strtol(v, NULL, 10);
        else if (strcmp(o, "--seed") == 0)
            seed = strtol(v, NULL, 10);
        else if (strcmp(o, "--max-sequences") == 0)
            max_sequences = strtol(v, NULL, 10);
        else if (strcmp(o, "--test") == 0)
            n_test = strtol(v, NULL, 10);
        else if (strcmp(o, "--lr") == 0)
            lr = strtod(v, NULL);
        else {
            fprintf(stderr, "adding: unknown option %s\n", o);
            return 2;
        }
    }
    if (T < 20 || max_sequences < 1 || n_test < 0 || seed < 0 || !isfinite(lr)) {
        fprintf(stderr, "adding: need T >= 20, max-sequences >= 1, test >= 0, seed >= 0\n");
        return 2;
    }

    /* the net of fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2,
       init_range=0.1, in_gate_bias=[-3, -6]) */
    lstm97_dims d;
    memset(&d, 0, sizeof d);
    d.I = 2;
    d.K = 1;
    d.B = 2;
    d.S = 2;
    d.output_gate = 1;
    d.g = LSTM97_G2;
    d.h = LSTM97_H1;
    d.out = LSTM97_OUT_LOGISTIC;
    d.kernel = LSTM97_KERNEL_FAST;
    lstm97_layout L;
    int rc = lstm97_layout_of(&d, &L);
    if (rc != LSTM97_OK)
        return fail("lstm97_layout_of", rc);
    const int64_t max_len = T + T / 10;
    double *params = malloc((size_t)L.n_params * sizeof(double));
    double *masks = malloc((size_t)L.n_params * sizeof(double));
    double *state = malloc((size_t)L.state_len * sizeof(double));
    double *work = malloc((size_t)L.work_len * sizeof(double));
    double *x = malloc((size_t)(2 * max_len) * sizeof(double));
    double *t = calloc((size_t)max_len, sizeof(double));
    double *y = malloc((size_t)max_len * sizeof(double));
    uint8_t *tmask = calloc((size_t)max_len, 1);
    const int window = 2000;
    double *errors = calloc((size_t)window, sizeof(double));
    if (!params || !masks || !state || !work || !x || !t || !y || !tmask || !errors) {
        fprintf(stderr, "adding: out of memory\n");
        return 1;
    }
    const double in_gate_bias[2] = {-3.0, -6.0};
    if ((rc = lstm97_masks_f64(&d, NULL, masks)) != LSTM97_OK)
        return fail("lstm97_masks_f64", rc);
    if ((rc = lstm97_init_uniform_f64(&d, masks, 0.1, (uint64_t)seed, params)) != LSTM97_OK)
        return fail("lstm97_init_uniform_f64", rc);
    if ((rc = lstm97_set_gate_bias_f64(&d, masks, in_gate_bias, NULL, params)) != LSTM97_OK)
        return fail("lstm97_set_gate_bias_f64", rc);
    int n_weights = 0;
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        n_weights += masks[i] != 0;
    printf("adding problem, T = %ld: libfastlstm %s, %d weights, lr %g, stop at ST3(0.01) "
           "or %ld sequences\n", T, lstm97_version(), n_weights, lr, max_sequences);

    rng_state = (uint64_t)seed + 1;
    double sum = 0.0;          /* of the errors in the window */
    int n_wrong = 0, solved = 0;
    long n = 0;
    const double t0 = now();
    for (n = 1; n <= max_sequences; n++) {
        double target;
        const int64_t len = sample(T, x, &target);
        memset(tmask, 0, (size_t)len);
        tmask[len - 1] = 1;
        t[len - 1] = target;
        rc = lstm97_train_f64(&d, params, masks, x, t, tmask, len, lr, LSTM97_STEP, y,
                              state, work, NULL);
        if (rc != LSTM97_OK)
            return fail("lstm97_train_f64", rc);
        const double err = fabs(y[len - 1] - target);
        const int slot = (int)((n - 1) % window);
        if (n > window) {
            sum -= errors[slot];
            n_wrong -= errors[slot] >= 0.04;
        }
        errors[slot] = err;
        sum += err;
        n_wrong += err >= 0.04;
        if (n % 10000 == 0) {
            const long k = n < window ? n : window;
            printf("%8ld sequences: mean |error| %.4f, wrong %d of the last %ld",
                   n, sum / (double)k, n_wrong, k);
            if (!quiet)
                printf(" (%.1f s)", now() - t0);
            printf("\n");
            fflush(stdout);
        }
        if (n >= window && n_wrong == 0 && sum / window < 0.01) {
            solved = 1;
            break;
        }
    }
    if (!solved)
        n = max_sequences;
    printf("%s after %ld sequences", solved ? "reached ST3(0.01)" : "stopped at the cap", n);
    if (!quiet) {
        const double wall = now() - t0;
        printf(" in %.1f s (%.0f sequences/s)", wall, (double)n / wall);
    }
    printf("\n");

    rng_state = (uint64_t)seed + 10000;
    int wrong = 0;
    double abs_err = 0.0;
    for (long i = 0; i < n_test; i++) {
        double target;
        const int64_t len = sample(T, x, &target);
        rc = lstm97_forward_f64(&d, params, x, len, y, state, work);
        if (rc != LSTM97_OK)
            return fail("lstm97_forward_f64", rc);
        const double err = fabs(y[len - 1] - target);
        wrong += err >= 0.04;
        abs_err += err;
    }
    printf("test: %d of %ld wrong (|error| >= 0.04), mean absolute error %.4f\n", wrong,
           n_test, n_test ? abs_err / (double)n_test : 0.0);
    free(params);
    free(masks);
    free(state);
    free(work);
    free(x);
    free(t);
    free(y);
    free(tmask);
    free(errors);
    return 0;
}
