/*
 * test_reference.c -- the C API against numbers computed by the Python package.
 *
 *   test_reference tests/c/reference.txt
 *
 * reference.txt (written by tests/c/make_reference.py) holds, per case, the weights and
 * masks that fastlstm.LSTM built, inputs and targets, and the outputs of forward,
 * train_sequence, gradient and train_batch.  Each is recomputed here from the same
 * weights and inputs through the C API; the masks are also rebuilt by lstm97_masks_f64
 * from the topology options.  Values must agree to 1e-12 (relative to max(1, |value|));
 * the count of bit-identical values is printed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fastlstm.h"
#include "nets.h"

#define MAX_RECORDS 64

typedef struct record {
    char name[64];
    long n;
    double *v;
} record;

typedef struct refcase {
    int n;
    record r[MAX_RECORDS];
} refcase;

static long n_compared = 0, n_identical = 0;

static const record *get(const refcase *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->r[i].name, name) == 0)
            return &c->r[i];
    fprintf(stderr, "reference: no record '%s'\n", name);
    exit(2);
}

static void free_case(refcase *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->r[i].v);
    c->n = 0;
}

/* reads one case; 0 at the end of the file, 1 if a case was read, exits on bad input */
static int read_case(FILE *f, refcase *c)
{
    char name[64];
    long n;
    c->n = 0;
    int in_case = 0;
    for (;;) {
        int ch = fgetc(f);
        if (ch == EOF)
            return 0;
        if (ch == '#') {                 /* a comment line */
            while (ch != '\n' && ch != EOF)
                ch = fgetc(f);
            continue;
        }
        ungetc(ch, f);
        if (fscanf(f, "%63s %ld", name, &n) != 2) {
            if (feof(f))
                return 0;
            fprintf(stderr, "reference: bad record header\n");
            exit(2);
        }
        if (strcmp(name, "end") == 0)
            return in_case;
        if (strcmp(name, "case") == 0)
            in_case = 1;
        if (c->n == MAX_RECORDS || n < 0 || n > 100000000) {
            fprintf(stderr, "reference: too many records or bad length\n");
            exit(2);
        }
        record *r = &c->r[c->n++];
        strcpy(r->name, name);
        r->n = n;
        r->v = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
        if (!r->v)
            exit(2);
        for (long i = 0; i < n; i++)
            if (fscanf(f, "%lf", &r->v[i]) != 1) {
                fprintf(stderr, "reference: short record '%s'\n", name);
                exit(2);
            }
    }
}

/* compares n values; prints the worst index on failure */
static void compare(const char *what, int case_id, const double *got, const record *want,
                    long n)
{
    CHECK(want->n == n);
    if (want->n != n)
        return;
    long worst = -1;
    double worst_err = 0;
    for (long i = 0; i < n; i++) {
        double err = fabs(got[i] - want->v[i]) / fmax(1.0, fabs(want->v[i]));
        if (!(err <= 1e-12) && (worst < 0 || !(err <= worst_err))) {
            worst = i;
            worst_err = err;
        }
        n_compared++;
        n_identical += memcmp(&got[i], &want->v[i], sizeof(double)) == 0;
    }
    if (worst >= 0)
        fprintf(stderr, "case %d %s: index %ld: C %.17g, Python %.17g\n", case_id, what,
                worst, got[worst], want->v[worst]);
    CHECK(worst < 0);
}

static double *alloc(ptrdiff_t n)      /* n zeroed doubles (nets.h) */
{
    return nets_alloc((size_t)(n > 0 ? n : 1) * sizeof(double));
}

static void run_case(const refcase *c)
{
    const int id = (int)get(c, "case")->v[0];
    const double *dv = get(c, "dims")->v;
    lstm97_dims d = nets_dims((int32_t)dv[0], (int32_t)dv[1], (int32_t)dv[2], (int32_t)dv[3]);
    d.output_gate = (int32_t)dv[4];
    d.g = (int32_t)dv[5];
    d.h = (int32_t)dv[6];
    d.out = (int32_t)dv[7];
    d.kernel = LSTM97_KERNEL_FAST;
    lstm97_layout L;
    CHECK_RC(lstm97_layout_of(&d, &L), LSTM97_OK);
    const record *params0 = get(c, "params"), *masks = get(c, "masks");
    CHECK(params0->n == L.n_params);
    if (params0->n != L.n_params)
        return;
    const int64_t T = (int64_t)get(c, "T")->v[0];
    const double lr = get(c, "lr")->v[0];
    const double *x = get(c, "x")->v, *y = get(c, "y")->v;
    const record *tm = get(c, "tmask");
    uint8_t *tmask = malloc((size_t)T);
    for (int64_t t = 0; t < T; t++)
        tmask[t] = tm->v[t] != 0;

    /* the masks rebuilt from the topology options */
    const double *tv = get(c, "topology")->v;
    lstm97_topology topo = {(int32_t)tv[0], (int32_t)tv[1], (int32_t)tv[2]};
    double *m = alloc(L.n_params);
    CHECK_RC(lstm97_masks_f64(&d, &topo, m), LSTM97_OK);
    compare("masks", id, m, masks, L.n_params);

    double *params = alloc(L.n_params), *out = alloc(T * d.K), *state = alloc(L.state_len);
    double *work = alloc(L.work_len), *dW = alloc(L.n_params);
    memcpy(params, params0->v, (size_t)L.n_params * sizeof(double));
    CHECK_RC(lstm97_forward_f64(&d, params, x, T, out, state, work), LSTM97_OK);
    compare("forward", id, out, get(c, "forward"), T * d.K);

    static const char *sched_name[2] = {"step", "sequence"};
    for (int sch = 0; sch < 2; sch++) {
        char key[64];
        memcpy(params, params0->v, (size_t)L.n_params * sizeof(double));
        CHECK_RC(lstm97_train_f64(&d, params, masks->v, x, y, tmask, T, lr,
                                  sch ? LSTM97_SEQUENCE : LSTM97_STEP, out, state, work, dW),
                 LSTM97_OK);
        sprintf(key, "train_%s_y", sched_name[sch]);
        compare(key, id, out, get(c, key), T * d.K);
        sprintf(key, "train_%s_params", sched_name[sch]);
        compare(key, id, params, get(c, key), L.n_params);
    }

    int64_t tape_len = lstm97_tape_len(&d, T);
    CHECK(tape_len > 0);
    double *tape = alloc(tape_len), *grad = alloc(L.n_params);
    for (int truncated = 0; truncated < 2; truncated++) {
        char key[64];
        double loss = -1;
        const char *tag = truncated ? "truncated" : "exact";
        CHECK_RC(lstm97_gradient_f64(&d, params0->v, masks->v, x, y, tmask, T, truncated,
                                     out, grad, &loss, tape),
                 LSTM97_OK);
        sprintf(key, "gradient_%s_loss", tag);
        compare(key, id, &loss, get(c, key), 1);
        sprintf(key, "gradient_%s", tag);
        compare(key, id, grad, get(c, key), L.n_params);
    }

    /* train_batch, 2 threads (1 in a build without threads: the same bits) */
    const int64_t N = (int64_t)get(c, "batch_N")->v[0];
    const record *bm = get(c, "batch_tmask");
    uint8_t *btmask = malloc((size_t)(N * T));
    for (int64_t i = 0; i < N * T; i++)
        btmask[i] = bm->v[i] != 0;
    double *bout = alloc(N * T * d.K), *bstate = alloc(N * L.state_len);
    double *bwork = alloc(N * L.work_len), *bdW = alloc(N * L.n_params);
    memcpy(params, params0->v, (size_t)L.n_params * sizeof(double));
    CHECK_RC(lstm97_train_batch_f64(&d, params, masks->v, get(c, "batch_x")->v,
                                    get(c, "batch_y")->v, btmask, N, T, lr, LSTM97_STEP,
                                    lstm97_have_threads() ? 2 : 1, bout, bstate, bwork, bdW),
             LSTM97_OK);
    compare("batch_out", id, bout, get(c, "batch_out"), N * T * d.K);
    compare("batch_params", id, params, get(c, "batch_params"), L.n_params);

    free(btmask);
    free(bout);
    free(bstate);
    free(bwork);
    free(bdW);
    free(tape);
    free(grad);
    free(m);
    free(params);
    free(out);
    free(state);
    free(work);
    free(dW);
    free(tmask);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_reference reference.txt\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    static refcase c;
    int n_cases = 0;
    while (read_case(f, &c)) {
        run_case(&c);
        free_case(&c);
        n_cases++;
    }
    free_case(&c);
    fclose(f);
    CHECK(n_cases >= 3);
    lstm97_stop_threads();
    printf("%d cases, %ld values compared with the Python package, %ld bit-identical\n",
           n_cases, n_compared, n_identical);
    return CHECK_DONE("test_reference");
}
