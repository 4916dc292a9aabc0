/*
 * test_capi.c -- every public function of fastlstm.h: a call that works and the status
 * codes it returns for bad arguments; the float32 kernels against the float64 ones; the
 * mask and initialisation helpers; the kept threads.
 *
 *   test_capi                 run the checks
 *   test_capi --dump FILE     also write the results of a fixed computation (init, train,
 *                             train_batch, forward) as hexadecimal floats to FILE: the
 *                             static and the shared library must write the same file
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fastlstm.h"
#include "nets.h"

/* the adding problem's net (nets.h: the shared net set-up of the C programs) */
static lstm97_dims adding_dims(void)
{
    lstm97_dims d;
    nets_by_name("adding", &d);
    return d;
}

static void test_version(void)
{
    CHECK(strcmp(lstm97_version(), FASTLSTM_VERSION_STRING) == 0);
    CHECK(lstm97_version_number() == FASTLSTM_VERSION);
    CHECK(FASTLSTM_VERSION == FASTLSTM_VERSION_MAJOR * 10000 + FASTLSTM_VERSION_MINOR * 100 +
                                  FASTLSTM_VERSION_PATCH);
    char buf[32];
    sprintf(buf, "%d.%d.%d", FASTLSTM_VERSION_MAJOR, FASTLSTM_VERSION_MINOR,
            FASTLSTM_VERSION_PATCH);
    CHECK(strcmp(buf, lstm97_version()) == 0);
    CHECK(lstm97_have_threads() == 0 || lstm97_have_threads() == 1);
}

static void test_layout(void)
{
    lstm97_dims d = adding_dims();
    lstm97_layout L;
    CHECK_RC(lstm97_layout_of(&d, &L), LSTM97_OK);
    /* the adding net: nz = 1 + 2 + 4 + 2 * 2 = 11, nu = 7 */
    CHECK(L.C == 4 && L.nz == 11 && L.nu == 7);
    CHECK(L.W_in == 0 && L.W_out == 22 && L.W_c == 44 && L.W_k == 88 && L.n_params == 95);
    CHECK(L.state_len == 11 + 4 + 2 * 4 * 11);
    CHECK_RC(lstm97_layout_of(NULL, &L), LSTM97_ERR_NULL);
    CHECK_RC(lstm97_layout_of(&d, NULL), LSTM97_ERR_NULL);
    /* one field of the adding net's dims set to a bad value at a time, and the status */
    static const struct {
        const char *field;
        size_t offset;
        int32_t value;
        int want;
    } bad[] = {
        {"I", offsetof(lstm97_dims, I), 0, LSTM97_ERR_DIMS},
        {"K", offsetof(lstm97_dims, K), -1, LSTM97_ERR_DIMS},
        {"B", offsetof(lstm97_dims, B), -2, LSTM97_ERR_DIMS},
        {"S", offsetof(lstm97_dims, S), 0, LSTM97_ERR_DIMS},
        {"output_gate", offsetof(lstm97_dims, output_gate), 2, LSTM97_ERR_DIMS},
        {"kernel", offsetof(lstm97_dims, kernel), 7, LSTM97_ERR_DIMS},
        {"g", offsetof(lstm97_dims, g), 99, LSTM97_ERR_ACTIVATION},
        {"h", offsetof(lstm97_dims, h), -1, LSTM97_ERR_ACTIVATION},
        {"out", offsetof(lstm97_dims, out), 3, LSTM97_ERR_ACTIVATION},
        {"forget_gate", offsetof(lstm97_dims, forget_gate), 2, LSTM97_ERR_DIMS},
        {"peepholes", offsetof(lstm97_dims, peepholes), 2, LSTM97_ERR_DIMS},
        {"sources", offsetof(lstm97_dims, sources), 2, LSTM97_ERR_DIMS},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lstm97_dims e = d;
        memcpy((char *)&e + bad[i].offset, &bad[i].value, sizeof(int32_t));
        int rc = lstm97_layout_of(&e, &L);
        check_count++;
        if (rc != bad[i].want) {
            check_failures++;
            fprintf(stderr, "%s:%d: lstm97_layout_of with %s = %d returned %d, expected %d\n",
                    __FILE__, __LINE__, bad[i].field, (int)bad[i].value, rc, bad[i].want);
        }
    }
    lstm97_dims e = d;
    e.B = 1 << 20;                      /* B and S each allowed, their product too large */
    e.S = 1 << 20;
    CHECK_RC(lstm97_layout_of(&e, &L), LSTM97_ERR_DIMS);
    e = d;
    e.forget_gate = 1;
    CHECK_RC(lstm97_layout_of(&e, &L), LSTM97_OK);
    CHECK(L.W_phi >= 0);
    {   /* the masks helpers build the 1997 cell's masks only */
        double *mk = calloc((size_t)L.n_params, sizeof(double));
        CHECK_RC(lstm97_masks_f64(&e, NULL, mk), LSTM97_ERR_UNSUPPORTED);
        free(mk);
    }
    e = d;
    e.output_gate = 0;
    CHECK_RC(lstm97_layout_of(&e, &L), LSTM97_OK);
    CHECK(L.W_out == -1 && L.nz == 9);
    CHECK(lstm97_tape_len(&d, 10) == 10 * (11 + 4 + 12) + 7 + 1 + 20 + 4 + 11);
    CHECK(lstm97_tape_len(&d, -1) == -1);
    CHECK(lstm97_tape_len(&e, INT64_MAX) == -1);
    e.I = -3;
    CHECK(lstm97_tape_len(&e, 10) == -1);
    CHECK(lstm97_tape_len(NULL, 10) == -1);
}

static void test_masks_and_init(void)
{
    lstm97_dims d = adding_dims();
    lstm97_layout L;
    lstm97_layout_of(&d, &L);
    double *m = nets_alloc((size_t)L.n_params * sizeof(double));
    double *p = nets_alloc((size_t)L.n_params * sizeof(double));
    double *q = nets_alloc((size_t)L.n_params * sizeof(double));
    float *mf = nets_alloc((size_t)L.n_params * sizeof(float));
    float *pf = nets_alloc((size_t)L.n_params * sizeof(float));

    lstm97_topology t = lstm97_topology_default();
    CHECK(t.recurrent == 1 && t.input_to_output == 0 && t.bias == LSTM97_BIAS_ALL);
    CHECK_RC(lstm97_masks_f64(&d, NULL, m), LSTM97_OK);
    double n_free = 0;
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        n_free += m[i];
    CHECK(n_free == 93);                          /* the paper's 93 weights of Exp. 4 */
    CHECK(m[L.W_k + 1] == 0 && m[L.W_k + 2] == 0 && m[L.W_k + 3] == 1 && m[L.W_k] == 1);
    CHECK_RC(lstm97_masks_f64(&d, &t, q), LSTM97_OK);
    CHECK(memcmp(m, q, (size_t)L.n_params * sizeof(double)) == 0);
    lstm97_topology u = {0, 1, LSTM97_BIAS_CELLS};
    CHECK_RC(lstm97_masks_f32(&d, &u, mf), LSTM97_OK);
    CHECK(mf[L.W_in] == 0 && mf[L.W_out] == 0 && mf[L.W_c] == 1 && mf[L.W_k] == 0);
    CHECK(mf[L.W_in + 1] == 1 && mf[L.W_in + 3] == 0 && mf[L.W_c + 10] == 0);
    CHECK(mf[L.W_k + 1] == 1 && mf[L.W_k + 3] == 1);
    CHECK_RC(lstm97_masks_f64(&d, &t, NULL), LSTM97_ERR_NULL);
    CHECK_RC(lstm97_masks_f32(NULL, &t, mf), LSTM97_ERR_NULL);
    lstm97_topology bad = t;
    bad.recurrent = 2;
    CHECK_RC(lstm97_masks_f64(&d, &bad, m), LSTM97_ERR_DIMS);
    bad = t;
    bad.input_to_output = -1;
    CHECK_RC(lstm97_masks_f64(&d, &bad, m), LSTM97_ERR_DIMS);
    bad = t;
    bad.bias = 8;
    CHECK_RC(lstm97_masks_f32(&d, &bad, mf), LSTM97_ERR_DIMS);
    lstm97_dims e = d;
    e.forget_gate = 1;
    CHECK_RC(lstm97_masks_f64(&e, &t, m), LSTM97_ERR_UNSUPPORTED);
    lstm97_masks_f64(&d, NULL, m);

    /* init: in range, masked +0, the same for the same seed, another for another */
    CHECK_RC(lstm97_init_uniform_f64(&d, m, 0.1, 42, p), LSTM97_OK);
    int ok = 1, n_neg = 0;
    for (ptrdiff_t i = 0; i < L.n_params; i++) {
        if (m[i] == 0)
            ok &= p[i] == 0 && !signbit(p[i]);
        else
            ok &= p[i] >= -0.1 && p[i] < 0.1 && p[i] != 0;
        n_neg += p[i] < 0;
    }
    CHECK(ok);
    CHECK(n_neg > 20 && n_neg < 73);
    CHECK_RC(lstm97_init_uniform_f64(&d, m, 0.1, 42, q), LSTM97_OK);
    CHECK(memcmp(p, q, (size_t)L.n_params * sizeof(double)) == 0);
    CHECK_RC(lstm97_init_uniform_f64(&d, m, 0.1, 43, q), LSTM97_OK);
    CHECK(memcmp(p, q, (size_t)L.n_params * sizeof(double)) != 0);
    /* masks NULL: every weight drawn; the same draws as with masks */
    CHECK_RC(lstm97_init_uniform_f64(&d, NULL, 0.1, 42, q), LSTM97_OK);
    ok = 1;
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        ok &= m[i] == 0 || p[i] == q[i];
    CHECK(ok);
    /* the documented generator: splitmix64 -> xoshiro256**; seed 0, first draw of range 1 */
    {
        uint64_t s[4], x = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t z = (x += UINT64_C(0x9E3779B97F4A7C15));
            z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
            z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
            s[i] = z ^ (z >> 31);
        }
        uint64_t r = s[1] * 5;
        r = ((r << 7) | (r >> 57)) * 9;
        double want = -1.0 + 2.0 * ((double)(r >> 11) * (1.0 / 9007199254740992.0));
        CHECK_RC(lstm97_init_uniform_f64(&d, NULL, 1.0, 0, q), LSTM97_OK);
        CHECK(q[0] == want);
    }
    CHECK_RC(lstm97_init_uniform_f32(&d, mf, 0.5, 42, pf), LSTM97_OK);
    ok = 1;
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        ok &= mf[i] == 0 ? pf[i] == 0 : (pf[i] >= -0.5f && pf[i] <= 0.5f);
    CHECK(ok);
    CHECK_RC(lstm97_init_uniform_f64(&d, m, 0.0, 1, q), LSTM97_OK);
    CHECK(q[3] == 0);
    CHECK_RC(lstm97_init_uniform_f64(&d, m, -0.1, 1, q), LSTM97_ERR_ALPHA);
    CHECK_RC(lstm97_init_uniform_f64(&d, m, NAN, 1, q), LSTM97_ERR_ALPHA);
    CHECK_RC(lstm97_init_uniform_f64(&d, m, INFINITY, 1, q), LSTM97_ERR_ALPHA);
    CHECK_RC(lstm97_init_uniform_f32(&d, mf, 1e300, 1, pf), LSTM97_ERR_ALPHA);
    CHECK_RC(lstm97_init_uniform_f64(&d, m, 0.1, 1, NULL), LSTM97_ERR_NULL);
    CHECK_RC(lstm97_init_uniform_f32(NULL, mf, 0.1, 1, pf), LSTM97_ERR_NULL);

    /* gate biases */
    const double in_b[2] = {-3.0, -6.0}, out_b[2] = {1.0, 2.0};
    CHECK_RC(lstm97_set_gate_bias_f64(&d, m, in_b, NULL, p), LSTM97_OK);
    CHECK(p[L.W_in] == -3.0 && p[L.W_in + L.nz] == -6.0);
    CHECK_RC(lstm97_set_gate_bias_f64(&d, m, NULL, out_b, p), LSTM97_OK);
    CHECK(p[L.W_out] == 1.0 && p[L.W_out + L.nz] == 2.0 && p[L.W_in] == -3.0);
    CHECK_RC(lstm97_set_gate_bias_f64(&d, m, NULL, NULL, p), LSTM97_OK);
    CHECK_RC(lstm97_set_gate_bias_f64(&d, NULL, in_b, NULL, p), LSTM97_ERR_NULL);
    CHECK_RC(lstm97_set_gate_bias_f64(&d, m, in_b, NULL, NULL), LSTM97_ERR_NULL);
    const double inf_b[2] = {0.0, INFINITY}, big_b[2] = {1e300, 0.0};
    CHECK_RC(lstm97_set_gate_bias_f64(&d, m, inf_b, NULL, p), LSTM97_ERR_NONFINITE);
    CHECK(p[L.W_in] == -3.0);                     /* nothing written on an error */
    CHECK_RC(lstm97_set_gate_bias_f32(&d, mf, NULL, big_b, pf), LSTM97_ERR_DIMS);
    lstm97_masks_f32(&d, NULL, mf);
    CHECK_RC(lstm97_set_gate_bias_f32(&d, mf, NULL, big_b, pf), LSTM97_ERR_NONFINITE);
    CHECK_RC(lstm97_set_gate_bias_f32(&d, mf, in_b, out_b, pf), LSTM97_OK);
    CHECK(pf[L.W_in + L.nz] == -6.0f && pf[L.W_out] == 1.0f);
    lstm97_topology nob = {1, 0, LSTM97_BIAS_CELLS | LSTM97_BIAS_OUTPUTS};
    lstm97_masks_f64(&d, &nob, q);
    CHECK_RC(lstm97_set_gate_bias_f64(&d, q, in_b, NULL, p), LSTM97_ERR_DIMS);
    e = d;
    e.output_gate = 0;
    lstm97_masks_f64(&e, NULL, q);
    CHECK_RC(lstm97_set_gate_bias_f64(&e, q, NULL, out_b, p), LSTM97_ERR_DIMS);
    CHECK_RC(lstm97_set_gate_bias_f64(&e, q, in_b, NULL, p), LSTM97_OK);
    free(m);
    free(p);
    free(q);
    free(mf);
    free(pf);
}

/* the kernels of one REAL type: a working call and the error codes of each */
static void test_kernels_f64(void)
{
    lstm97_dims d = adding_dims();
    lstm97_layout L;
    lstm97_layout_of(&d, &L);
    const int64_t T = 25, N = 9;
    const ptrdiff_t P = L.n_params;
    /* one sequence (b, and b2 for a second copy of the weights and outputs), and N (bb) */
    nets_buffers b, b2, bb, bb2;
    CHECK(nets_buffers_alloc(&b, &d, 1, T, sizeof(double)) == 0);
    CHECK(nets_buffers_alloc(&b2, &d, 1, T, sizeof(double)) == 0);
    CHECK(nets_buffers_alloc(&bb, &d, N, T, sizeof(double)) == 0);
    CHECK(nets_buffers_alloc(&bb2, &d, N, T, sizeof(double)) == 0);
    double *m = b.m, *p = b.p, *p2 = b2.p, *dW = b.dW, *st = b.state, *wk = b.work;
    double *x = b.x, *t = b.t, *y = b.y, *y2 = b2.y;
    uint8_t *tmask = b.tmask;
    for (int i = 0; i < T; i++)
        tmask[i] = i % 3 == 0;
    nets_uniform(x, T * d.I, 1, -1, 1);
    nets_uniform(t, T * d.K, 2, 0, 1);
    lstm97_masks_f64(&d, NULL, m);
    lstm97_init_uniform_f64(&d, m, 0.1, 7, p);

    /* reset */
    st[0] = 5;
    CHECK_RC(lstm97_reset_f64(&d, st), LSTM97_OK);
    int zero = 1;
    for (ptrdiff_t i = 0; i < L.state_len; i++)
        zero &= st[i] == 0;
    CHECK(zero);
    CHECK_RC(lstm97_reset_f64(&d, NULL), LSTM97_ERR_NULL);
    CHECK_RC(lstm97_reset_f64(NULL, st), LSTM97_ERR_NULL);

    /* forward == step by step == run in two pieces */
    CHECK_RC(lstm97_forward_f64(&d, p, x, T, y, st, wk), LSTM97_OK);
    lstm97_reset_f64(&d, st);
    for (int64_t s = 0; s < T; s++)
        CHECK_RC(lstm97_step_f64(&d, p, NULL, x + s * d.I, NULL, 0.0, LSTM97_FORWARD, y2 + s,
                                 st, wk, NULL),
                 LSTM97_OK);
    CHECK(memcmp(y, y2, (size_t)T * sizeof(double)) == 0);
    lstm97_reset_f64(&d, st);
    CHECK_RC(lstm97_run_f64(&d, p, NULL, x, NULL, NULL, 10, 0.0, LSTM97_FORWARD, y2, st, wk,
                            NULL),
             LSTM97_OK);
    CHECK_RC(lstm97_run_f64(&d, p, NULL, x + 10 * d.I, NULL, NULL, T - 10, 0.0,
                            LSTM97_FORWARD, y2 + 10, st, wk, NULL),
             LSTM97_OK);
    CHECK(memcmp(y, y2, (size_t)T * sizeof(double)) == 0);
    CHECK_RC(lstm97_forward_f64(&d, p, x, 0, y, st, wk), LSTM97_ERR_LENGTH);
    CHECK_RC(lstm97_forward_f64(&d, p, NULL, T, y, st, wk), LSTM97_ERR_NULL);
    CHECK_RC(lstm97_forward_f64(&d, p, x, T, y, st, NULL), LSTM97_ERR_NULL);

    /* train (step) == run in mode LEARN after a reset; sequence == accumulate + apply */
    memcpy(p2, p, (size_t)P * sizeof(double));
    CHECK_RC(lstm97_train_f64(&d, p, m, x, t, tmask, T, 0.5, LSTM97_STEP, y, st, wk, NULL),
             LSTM97_OK);
    lstm97_reset_f64(&d, st);
    CHECK_RC(lstm97_run_f64(&d, p2, m, x, t, tmask, T, 0.5, LSTM97_LEARN, y2, st, wk, NULL),
             LSTM97_OK);
    CHECK(memcmp(p, p2, (size_t)P * sizeof(double)) == 0);
    CHECK(memcmp(y, y2, (size_t)T * sizeof(double)) == 0);
    memcpy(p2, p, (size_t)P * sizeof(double));
    CHECK_RC(lstm97_train_f64(&d, p, m, x, t, tmask, T, 0.5, LSTM97_SEQUENCE, y, st, wk, dW),
             LSTM97_OK);
    lstm97_reset_f64(&d, st);
    memset(dW, 0, (size_t)P * sizeof(double));
    CHECK_RC(lstm97_run_f64(&d, p2, m, x, t, tmask, T, 0.5, LSTM97_ACCUMULATE, y2, st, wk,
                            dW),
             LSTM97_OK);
    CHECK_RC(lstm97_apply_f64(&d, p2, dW), LSTM97_OK);
    CHECK(memcmp(p, p2, (size_t)P * sizeof(double)) == 0);
    CHECK(dW[5] == 0);                              /* apply zeroes dW */
    /* the step kernel with a target: LEARN, ACCUMULATE */
    lstm97_reset_f64(&d, st);
    CHECK_RC(lstm97_step_f64(&d, p, m, x, t, 0.5, LSTM97_LEARN, y, st, wk, NULL), LSTM97_OK);
    CHECK_RC(lstm97_step_f64(&d, p, m, x, t, 0.5, LSTM97_ACCUMULATE, y, st, wk, dW),
             LSTM97_OK);
    /* error codes of train, run, step, apply */
    CHECK_RC(lstm97_train_f64(&d, p, m, x, t, tmask, 0, 0.5, LSTM97_STEP, y, st, wk, NULL),
             LSTM97_ERR_LENGTH);
    CHECK_RC(lstm97_train_f64(&d, p, m, x, t, tmask, T, 0.5, 9, y, st, wk, NULL),
             LSTM97_ERR_SCHEDULE);
    CHECK_RC(lstm97_train_f64(&d, p, m, x, t, tmask, T, 0.5, LSTM97_SEQUENCE, y, st, wk, NULL),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_train_f64(&d, p, NULL, x, t, tmask, T, 0.5, LSTM97_STEP, y, st, wk, NULL),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_train_f64(&d, p, m, x, t, tmask, T, NAN, LSTM97_STEP, y, st, wk, NULL),
             LSTM97_ERR_ALPHA);
    lstm97_dims bad = d;
    bad.g = 17;
    CHECK_RC(lstm97_train_f64(&bad, p, m, x, t, tmask, T, 0.5, LSTM97_STEP, y, st, wk, NULL),
             LSTM97_ERR_ACTIVATION);
    CHECK_RC(lstm97_run_f64(&d, p, m, x, t, tmask, T, 0.5, 3, y, st, wk, NULL),
             LSTM97_ERR_SCHEDULE);
    CHECK_RC(lstm97_run_f64(&d, p, m, x, NULL, tmask, T, 0.5, LSTM97_LEARN, y, st, wk, NULL),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_run_f64(&d, p, m, x, t, tmask, T, 0.5, LSTM97_ACCUMULATE, y, st, wk, NULL),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_run_f64(&d, p, m, x, t, tmask, -1, 0.5, LSTM97_LEARN, y, st, wk, NULL),
             LSTM97_ERR_LENGTH);
    CHECK_RC(lstm97_run_f64(&d, p, m, x, t, tmask, T, INFINITY, LSTM97_LEARN, y, st, wk, NULL),
             LSTM97_ERR_ALPHA);
    CHECK_RC(lstm97_step_f64(&d, p, m, x, t, 0.5, 5, y, st, wk, NULL), LSTM97_ERR_SCHEDULE);
    CHECK_RC(lstm97_step_f64(&d, p, NULL, x, t, 0.5, LSTM97_LEARN, y, st, wk, NULL),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_step_f64(&d, p, m, x, t, 0.5, LSTM97_ACCUMULATE, y, st, wk, NULL),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_step_f64(&d, p, m, x, t, NAN, LSTM97_LEARN, y, st, wk, NULL),
             LSTM97_ERR_ALPHA);
    CHECK_RC(lstm97_apply_f64(&d, p, NULL), LSTM97_ERR_NULL);
    /* non-finite: a NaN weight makes the outputs NaN; an update to infinity */
    memcpy(p2, p, (size_t)P * sizeof(double));
    p2[L.W_k] = NAN;
    CHECK_RC(lstm97_forward_f64(&d, p2, x, T, y, st, wk), LSTM97_ERR_NONFINITE);
    CHECK_RC(lstm97_train_f64(&d, p2, m, x, t, NULL, T, 0.5, LSTM97_STEP, y, st, wk, NULL),
             LSTM97_ERR_NONFINITE);
    memcpy(p2, p, (size_t)P * sizeof(double));
    memset(dW, 0, (size_t)P * sizeof(double));
    dW[L.W_k] = INFINITY;
    CHECK_RC(lstm97_apply_f64(&d, p2, dW), LSTM97_ERR_NONFINITE);

    /* all_finite, gradient */
    CHECK(lstm97_all_finite_f64(P, p) == 1);
    CHECK(lstm97_all_finite_f64(P, p2) == 0);
    CHECK(lstm97_all_finite_f64(0, p) == 1);
    const int64_t tl = lstm97_tape_len(&d, T);
    double *tape = nets_alloc((size_t)tl * sizeof(double)), loss = -1;
    CHECK_RC(lstm97_gradient_f64(&d, p, m, x, t, tmask, T, 0, y, dW, &loss, tape), LSTM97_OK);
    CHECK(loss > 0 && isfinite(loss));
    /* the truncated gradient is minus the summed update of the "sequence" schedule / lr */
    CHECK_RC(lstm97_gradient_f64(&d, p, m, x, t, tmask, T, 1, y, dW, &loss, tape), LSTM97_OK);
    memcpy(p2, p, (size_t)P * sizeof(double));
    double *acc = nets_alloc((size_t)P * sizeof(double));
    CHECK_RC(lstm97_train_f64(&d, p2, m, x, t, tmask, T, 1.0, LSTM97_SEQUENCE, y, st, wk, acc),
             LSTM97_OK);
    double worst = 0;
    for (ptrdiff_t i = 0; i < P; i++)
        worst = fmax(worst, fabs((p2[i] - p[i]) + dW[i]));
    CHECK(worst < 1e-12);
    CHECK_RC(lstm97_gradient_f64(&d, p, m, x, t, tmask, 0, 0, y, dW, &loss, tape),
             LSTM97_ERR_LENGTH);
    CHECK_RC(lstm97_gradient_f64(&d, p, m, x, t, tmask, T, 0, y, dW, NULL, tape),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_gradient_f64(&d, p, m, x, t, tmask, T, 0, y, dW, &loss, NULL),
             LSTM97_ERR_NULL);
    free(acc);
    free(tape);

    /* train_batch: bitwise the same for 1 and 3 threads; N = 1 is train up to rounding */
    double *bx = bb.x, *bt = bb.t, *by = bb.y, *by2 = bb2.y, *bst = bb.state;
    double *bwk = bb.work, *bdW = bb.dW;
    nets_uniform(bx, N * T * d.I, 3, -1, 1);
    nets_uniform(bt, N * T * d.K, 4, 0, 1);
    memcpy(p2, p, (size_t)P * sizeof(double));
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, N, T, 0.3, LSTM97_STEP, 1, by, bst,
                                    bwk, bdW),
             LSTM97_OK);
    const int nt = lstm97_have_threads() ? 3 : 1;
    CHECK_RC(lstm97_train_batch_f64(&d, p2, m, bx, bt, NULL, N, T, 0.3, LSTM97_STEP, nt, by2,
                                    bst, bwk, bdW),
             LSTM97_OK);
    CHECK(memcmp(p, p2, (size_t)P * sizeof(double)) == 0);
    CHECK(memcmp(by, by2, (size_t)(N * T) * sizeof(double)) == 0);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, N, T, 0.3, LSTM97_SEQUENCE, nt, by,
                                    bst, bwk, bdW),
             LSTM97_OK);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, 0, T, 0.3, LSTM97_STEP, 1, by, bst,
                                    bwk, bdW),
             LSTM97_ERR_LENGTH);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, N, T, 0.3, 4, 1, by, bst, bwk,
                                    bdW),
             LSTM97_ERR_SCHEDULE);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, N, T, NAN, LSTM97_STEP, 1, by, bst,
                                    bwk, bdW),
             LSTM97_ERR_ALPHA);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, N, T, 0.3, LSTM97_STEP, 0, by, bst,
                                    bwk, bdW),
             LSTM97_ERR_THREADS);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, N, T, 0.3, LSTM97_STEP,
                                    LSTM97_MAX_THREADS + 1, by, bst, bwk, bdW),
             LSTM97_ERR_THREADS);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, NULL, NULL, N, T, 0.3, LSTM97_STEP, 1, by,
                                    bst, bwk, bdW),
             LSTM97_ERR_NULL);
    if (!lstm97_have_threads())      /* without threads: n_threads = 1 only, even for N = 1 */
        CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, 1, T, 0.3, LSTM97_STEP, 2, by,
                                        bst, bwk, bdW),
                 LSTM97_ERR_THREADS);

    /* the kept threads: stopped, twice, then started again by the next call */
    if (lstm97_have_threads())
        CHECK(lstm97_n_kept_threads() >= 1);
    CHECK_RC(lstm97_stop_threads(), LSTM97_OK);
    CHECK(lstm97_n_kept_threads() == 0);
    CHECK_RC(lstm97_stop_threads(), LSTM97_OK);
    memcpy(p, p2, (size_t)P * sizeof(double));
    CHECK_RC(lstm97_train_batch_f64(&d, p2, m, bx, bt, NULL, N, T, 0.3, LSTM97_STEP, nt, by2,
                                    bst, bwk, bdW),
             LSTM97_OK);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, bx, bt, NULL, N, T, 0.3, LSTM97_STEP, 1, by, bst,
                                    bwk, bdW),
             LSTM97_OK);
    CHECK(memcmp(p, p2, (size_t)P * sizeof(double)) == 0);
    CHECK(lstm97_n_kept_threads() == (lstm97_have_threads() ? nt - 1 : 0));
    CHECK_RC(lstm97_stop_threads(), LSTM97_OK);
    CHECK(lstm97_n_kept_threads() == 0);

    nets_buffers_free(&b);
    nets_buffers_free(&b2);
    nets_buffers_free(&bb);
    nets_buffers_free(&bb2);
}

/* float32: each kernel once against float64 (to float32's precision), and its errors */
static void test_kernels_f32(void)
{
    lstm97_dims d = adding_dims();
    lstm97_layout L;
    lstm97_layout_of(&d, &L);
    const int64_t T = 20, N = 5;
    const ptrdiff_t P = L.n_params;
    nets_buffers b64, b32;
    CHECK(nets_buffers_alloc(&b64, &d, N, T, sizeof(double)) == 0);
    CHECK(nets_buffers_alloc(&b32, &d, N, T, sizeof(float)) == 0);
    double *m = b64.m, *p = b64.p, *x = b64.x, *t = b64.t, *y = b64.y;
    double *st = b64.state, *wk = b64.work, *dW = b64.dW;
    float *mf = b32.m, *pf = b32.p, *xf = b32.x, *tf = b32.t, *yf = b32.y;
    float *stf = b32.state, *wkf = b32.work, *dWf = b32.dW;
    nets_uniform(x, N * T * d.I, 5, -1, 1);
    nets_uniform(t, N * T, 6, 0, 1);
    for (int64_t i = 0; i < N * T * d.I; i++) {
        xf[i] = (float)x[i];
        x[i] = xf[i];
    }
    for (int64_t i = 0; i < N * T; i++) {
        tf[i] = (float)t[i];
        t[i] = tf[i];
    }
    lstm97_masks_f64(&d, NULL, m);
    lstm97_masks_f32(&d, NULL, mf);
    lstm97_init_uniform_f32(&d, mf, 0.5, 11, pf);
    for (ptrdiff_t i = 0; i < P; i++)
        p[i] = pf[i];
#define CLOSE_F32(a64, a32, n)                                                            \
    do {                                                                                  \
        double w_ = 0;                                                                    \
        for (ptrdiff_t i_ = 0; i_ < (ptrdiff_t)(n); i_++)                                 \
            w_ = fmax(w_, fabs((a64)[i_] - (double)(a32)[i_]));                           \
        CHECK(w_ < 1e-4);                                                                 \
    } while (0)

    CHECK_RC(lstm97_reset_f32(&d, stf), LSTM97_OK);
    CHECK_RC(lstm97_reset_f32(&d, NULL), LSTM97_ERR_NULL);
    CHECK_RC(lstm97_forward_f64(&d, p, x, T, y, st, wk), LSTM97_OK);
    CHECK_RC(lstm97_forward_f32(&d, pf, xf, T, yf, stf, wkf), LSTM97_OK);
    CLOSE_F32(y, yf, T);
    CHECK_RC(lstm97_forward_f32(&d, pf, xf, 0, yf, stf, wkf), LSTM97_ERR_LENGTH);
    lstm97_reset_f32(&d, stf);
    CHECK_RC(lstm97_step_f32(&d, pf, NULL, xf, NULL, 0, LSTM97_FORWARD, yf, stf, wkf, NULL),
             LSTM97_OK);
    CHECK(yf[0] == (float)yf[0] && fabs(yf[0] - y[0]) < 1e-5);
    CHECK_RC(lstm97_step_f32(&d, pf, NULL, xf, tf, 0.1, LSTM97_LEARN, yf, stf, wkf, NULL),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_run_f32(&d, pf, NULL, xf, NULL, NULL, T, 0, LSTM97_FORWARD, yf, stf, wkf,
                            NULL),
             LSTM97_OK);
    CHECK_RC(lstm97_run_f32(&d, pf, mf, xf, tf, NULL, T, 0, 8, yf, stf, wkf, NULL),
             LSTM97_ERR_SCHEDULE);
    CHECK_RC(lstm97_train_f64(&d, p, m, x, t, NULL, T, 0.1, LSTM97_STEP, y, st, wk, NULL),
             LSTM97_OK);
    CHECK_RC(lstm97_train_f32(&d, pf, mf, xf, tf, NULL, T, 0.1, LSTM97_STEP, yf, stf, wkf,
                              NULL),
             LSTM97_OK);
    CLOSE_F32(p, pf, P);
    CLOSE_F32(y, yf, T);
    CHECK_RC(lstm97_train_f32(&d, pf, mf, xf, tf, NULL, T, NAN, LSTM97_STEP, yf, stf, wkf,
                              NULL),
             LSTM97_ERR_ALPHA);
    memset(dWf, 0, (size_t)P * sizeof(float));
    CHECK_RC(lstm97_apply_f32(&d, pf, dWf), LSTM97_OK);
    CHECK_RC(lstm97_apply_f32(&d, NULL, dWf), LSTM97_ERR_NULL);
    CHECK(lstm97_all_finite_f32(P, pf) == 1);
    float inf_f = INFINITY;
    CHECK(lstm97_all_finite_f32(1, &inf_f) == 0);
    const int64_t tl = lstm97_tape_len(&d, T);
    float *tape = nets_alloc((size_t)tl * sizeof(float));
    double *tape64 = nets_alloc((size_t)tl * sizeof(double));
    double loss = 0, loss64 = 0;
    CHECK_RC(lstm97_gradient_f32(&d, pf, mf, xf, tf, NULL, T, 0, yf, dWf, &loss, tape),
             LSTM97_OK);
    CHECK_RC(lstm97_gradient_f64(&d, p, m, x, t, NULL, T, 0, y, dW, &loss64, tape64),
             LSTM97_OK);
    CHECK(fabs(loss - loss64) < 1e-4 * fmax(1, loss64));
    CLOSE_F32(dW, dWf, P);
    CHECK_RC(lstm97_gradient_f32(&d, pf, mf, xf, tf, NULL, T, 0, yf, dWf, &loss, NULL),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_train_batch_f64(&d, p, m, x, t, NULL, N, T, 0.2, LSTM97_STEP, 1, y, st, wk,
                                    dW),
             LSTM97_OK);
    CHECK_RC(lstm97_train_batch_f32(&d, pf, mf, xf, tf, NULL, N, T, 0.2, LSTM97_STEP,
                                    lstm97_have_threads() ? 2 : 1, yf, stf, wkf, dWf),
             LSTM97_OK);
    CLOSE_F32(p, pf, P);
    CHECK_RC(lstm97_train_batch_f32(&d, pf, mf, xf, tf, NULL, N, T, 0.2, LSTM97_STEP, -1, yf,
                                    stf, wkf, dWf),
             LSTM97_ERR_THREADS);
    lstm97_stop_threads();
    free(tape);
    free(tape64);
    nets_buffers_free(&b64);
    nets_buffers_free(&b32);
}

static void test_sig_and_isa(void)
{
    double x[7] = {-800, -20, -1, 0, 0.5, 30, 800}, o[7], o2[7];
    const int max = lstm97_sig_max_lanes();
    CHECK(max == 1 || max == 2 || max == 4);
    lstm97_sig_f64(7, x, o, 0);
    for (int i = 0; i < 7; i++)
        CHECK(fabs(o[i] - 1 / (1 + exp(-x[i]))) <= 4 * DBL_EPSILON);
    for (int lanes = 1; lanes <= max; lanes *= 2) {
        lstm97_sig_f64(7, x, o2, lanes);
        CHECK(memcmp(o, o2, sizeof o) == 0);
    }
    o2[0] = 42;
    lstm97_sig_f64(7, x, o2, 3);               /* an invalid lanes value: nothing written */
    CHECK(o2[0] == 42);
    lstm97_sig_f64(7, NULL, o2, 0);
    CHECK(o2[0] == 42);
    const int isa = lstm97_get_isa();
    CHECK(isa >= 1 && isa <= 3 && isa == lstm97_cpu_isa());
    for (int level = 1; level <= 3; level++) {  /* each level, at most the CPU's */
        lstm97_set_isa(level);
        CHECK(lstm97_get_isa() == (level < isa ? level : isa));
    }
    lstm97_set_isa(7);                         /* out of range: the default */
    CHECK(lstm97_get_isa() == isa);
    lstm97_set_isa(1);
    CHECK(lstm97_get_isa() == 1);
    lstm97_set_isa(0);
    CHECK(lstm97_get_isa() == isa);
    /* the lanes path of lstm97_train_batch: on for the 1997 cell, off by switch, for the
       plain kernel and the family; -1 for invalid dims */
    lstm97_dims d = adding_dims();
    CHECK(lstm97_batch_lanes(&d) == 1);
    lstm97_set_batch_lanes(0);
    CHECK(lstm97_batch_lanes(&d) == 0);
    lstm97_set_batch_lanes(1);
    CHECK(lstm97_batch_lanes(&d) == 1);
    d.kernel = LSTM97_KERNEL_NAIVE;
    CHECK(lstm97_batch_lanes(&d) == 0);
    d.kernel = LSTM97_KERNEL_FAST;
    d.forget_gate = 1;
    CHECK(lstm97_batch_lanes(&d) == 0);
    d.I = 0;
    CHECK(lstm97_batch_lanes(&d) == -1);
    CHECK(lstm97_batch_lanes(NULL) == -1);
}

/* lstm97_batch_threads: a count in [1, n_threads] (whole lane groups per thread, enough
 * work between the meetings of the threads), the status codes of bad arguments */
static void test_batch_threads(void)
{
    lstm97_dims d = adding_dims();
    const int64_t T = 100, N = 64;
    uint8_t *last = nets_alloc((size_t)(N * T)), *every = nets_alloc((size_t)(N * T));
    nets_targets(last, N, T, 0);
    nets_targets(every, N, T, 1);
    const int have = lstm97_have_threads();
    for (int f32 = 0; f32 < 2; f32++) {
        int (*bt)(const lstm97_dims *, const uint8_t *, int64_t, int64_t, int, int) =
            f32 ? lstm97_batch_threads_f32 : lstm97_batch_threads_f64;
        /* one update per call, 64 sequences: two threads */
        CHECK_RC(bt(&d, last, N, T, LSTM97_STEP, 2), have ? 2 : 1);
        CHECK_RC(bt(&d, NULL, N, T, LSTM97_SEQUENCE, 2), have ? 2 : 1);
        /* 93 weights, a meeting at every step: one */
        CHECK_RC(bt(&d, every, N, T, LSTM97_STEP, 2), 1);
        CHECK_RC(bt(&d, NULL, N, T, LSTM97_STEP, 2), 1);
        /* a block of 4 sequences: one; one thread asked: one */
        CHECK_RC(bt(&d, NULL, 4, T, LSTM97_SEQUENCE, 2), 1);
        CHECK_RC(bt(&d, last, N, T, LSTM97_STEP, 1), 1);
        /* errors */
        CHECK_RC(bt(NULL, NULL, N, T, LSTM97_STEP, 2), LSTM97_ERR_NULL);
        CHECK_RC(bt(&d, NULL, 0, T, LSTM97_STEP, 2), LSTM97_ERR_LENGTH);
        CHECK_RC(bt(&d, NULL, N, 0, LSTM97_STEP, 2), LSTM97_ERR_LENGTH);
        CHECK_RC(bt(&d, NULL, N, T, 7, 2), LSTM97_ERR_SCHEDULE);
        CHECK_RC(bt(&d, NULL, N, T, LSTM97_STEP, 0), LSTM97_ERR_THREADS);
        CHECK_RC(bt(&d, NULL, N, T, LSTM97_STEP, LSTM97_MAX_THREADS + 1), LSTM97_ERR_THREADS);
        lstm97_dims bad = d;
        bad.I = 0;
        CHECK_RC(bt(&bad, NULL, N, T, LSTM97_STEP, 2), LSTM97_ERR_DIMS);
    }
    free(last);
    free(every);
}

/* a fixed computation whose every result is written as a hexadecimal float */
static int dump(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 2;
    }
    lstm97_dims d = adding_dims();
    lstm97_layout L;
    lstm97_layout_of(&d, &L);
    const int64_t T = 40, N = 8;
    double *m = nets_alloc((size_t)L.n_params * sizeof(double));
    double *p = nets_alloc((size_t)L.n_params * sizeof(double));
    double *x = nets_alloc((size_t)(N * T * d.I) * sizeof(double));
    double *t = nets_alloc((size_t)(N * T) * sizeof(double));
    double *y = nets_alloc((size_t)(N * T) * sizeof(double));
    double *st = nets_alloc((size_t)(N * L.state_len) * sizeof(double));
    double *wk = nets_alloc((size_t)(N * L.work_len) * sizeof(double));
    double *dW = nets_alloc((size_t)(N * L.n_params) * sizeof(double));
    const double in_b[2] = {-3, -6};
    lstm97_masks_f64(&d, NULL, m);
    lstm97_init_uniform_f64(&d, m, 0.1, 2024, p);
    lstm97_set_gate_bias_f64(&d, m, in_b, NULL, p);
    nets_uniform(x, N * T * d.I, 8, -1, 1);
    nets_uniform(t, N * T, 9, 0, 1);
    int rc = lstm97_train_f64(&d, p, m, x, t, NULL, T, 0.5, LSTM97_STEP, y, st, wk, NULL);
    rc |= lstm97_train_batch_f64(&d, p, m, x, t, NULL, N, T, 0.5, LSTM97_STEP,
                                 lstm97_have_threads() ? 2 : 1, y, st, wk, dW);
    for (ptrdiff_t i = 0; i < N * T; i++)
        fprintf(f, "%a\n", y[i]);
    rc |= lstm97_forward_f64(&d, p, x, T, y, st, wk);
    for (ptrdiff_t i = 0; i < T; i++)
        fprintf(f, "%a\n", y[i]);
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        fprintf(f, "%a\n", p[i]);
    fprintf(f, "%s %d\n", lstm97_version(), rc);
    fclose(f);
    lstm97_stop_threads();
    free(m);
    free(p);
    free(x);
    free(t);
    free(y);
    free(st);
    free(wk);
    free(dW);
    return rc != 0;
}

/* lstm97_train_onehot_f64: bitwise lstm97_train (schedule "step") on the dense one-hot
 * inputs; its error codes */
static void test_onehot(void)
{
    lstm97_dims d = adding_dims();
    d.I = 20;
    d.K = 2;
    d.S = 1;
    lstm97_layout L;
    CHECK_RC(lstm97_layout_of(&d, &L), LSTM97_OK);
    const int64_t T = 40;
    double *pa = nets_alloc((size_t)L.n_params * sizeof(double));
    double *pb = nets_alloc((size_t)L.n_params * sizeof(double));
    double *m = nets_alloc((size_t)L.n_params * sizeof(double));
    double *x = nets_alloc((size_t)(T * d.I) * sizeof(double));
    double *t = nets_alloc((size_t)(T * d.K) * sizeof(double));
    double *ya = nets_alloc((size_t)(T * d.K) * sizeof(double));
    double *yb = nets_alloc((size_t)(T * d.K) * sizeof(double));
    double *sa = nets_alloc((size_t)L.state_len * sizeof(double));
    double *sb = nets_alloc((size_t)L.state_len * sizeof(double));
    double *wa = nets_alloc((size_t)L.work_len * sizeof(double));
    double *wb = nets_alloc((size_t)L.work_len * sizeof(double));
    int32_t *idx = nets_alloc((size_t)T * sizeof(int32_t));
    uint8_t *tm = nets_alloc((size_t)T);
    nets_uniform(pa, L.n_params, 7, -0.5, 0.5);
    memcpy(pb, pa, (size_t)L.n_params * sizeof(double));
    for (ptrdiff_t i = 0; i < L.n_params; i++)
        m[i] = 1;
    nets_uniform(t, T * d.K, 8, 0, 1);
    for (int64_t s = 0; s < T; s++) {
        idx[s] = (int32_t)((s * 7) % (d.I + 1)) - 1;          /* -1 .. I-1 */
        if (idx[s] >= 0)
            x[s * d.I + idx[s]] = 1;
        tm[s] = (uint8_t)(s % 3 == 2);
    }
    CHECK_RC(lstm97_train_f64(&d, pa, m, x, t, tm, T, 0.3, LSTM97_STEP, ya, sa, wa, NULL),
             LSTM97_OK);
    CHECK_RC(lstm97_train_onehot_f64(&d, pb, m, idx, t, tm, T, 0.3, yb, sb, wb), LSTM97_OK);
    CHECK(memcmp(pa, pb, (size_t)L.n_params * sizeof(double)) == 0);
    CHECK(memcmp(ya, yb, (size_t)(T * d.K) * sizeof(double)) == 0);
    CHECK(memcmp(sa, sb, (size_t)L.state_len * sizeof(double)) == 0);
    /* errors, nothing trained */
    idx[3] = d.I;
    CHECK_RC(lstm97_train_onehot_f64(&d, pb, m, idx, t, tm, T, 0.3, yb, sb, wb),
             LSTM97_ERR_DIMS);
    idx[3] = -2;
    CHECK_RC(lstm97_train_onehot_f64(&d, pb, m, idx, t, tm, T, 0.3, yb, sb, wb),
             LSTM97_ERR_DIMS);
    idx[3] = 0;
    CHECK(memcmp(pa, pb, (size_t)L.n_params * sizeof(double)) == 0);
    CHECK_RC(lstm97_train_onehot_f64(&d, pb, m, NULL, t, tm, T, 0.3, yb, sb, wb),
             LSTM97_ERR_NULL);
    CHECK_RC(lstm97_train_onehot_f64(&d, pb, m, idx, t, tm, 0, 0.3, yb, sb, wb),
             LSTM97_ERR_LENGTH);
    CHECK_RC(lstm97_train_onehot_f64(&d, pb, m, idx, t, tm, T, NAN, yb, sb, wb),
             LSTM97_ERR_ALPHA);
    d.forget_gate = 1;
    CHECK_RC(lstm97_train_onehot_f64(&d, pb, m, idx, t, tm, T, 0.3, yb, sb, wb),
             LSTM97_ERR_UNSUPPORTED);
    free(pa); free(pb); free(m); free(x); free(t); free(ya); free(yb);
    free(sa); free(sb); free(wa); free(wb); free(idx); free(tm);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: test_capi [--dump FILE]\n");
        return 2;
    }
    test_version();
    test_layout();
    test_masks_and_init();
    test_kernels_f64();
    test_kernels_f32();
    test_sig_and_isa();
    test_onehot();
    test_batch_threads();
    return CHECK_DONE("test_capi");
}
