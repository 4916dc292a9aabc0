/*
 * lstm97.c -- layout of the buffers and the float64 / float32 kernels.
 * The kernels themselves are in lstm97_impl.h, compiled once per REAL type.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fastlstm.h"

/* Largest size accepted for any one dimension; keeps every product below 2^62. */
#define LSTM97_MAX_DIM ((int64_t)1 << 24)

int lstm97_layout_of(const lstm97_dims *d, lstm97_layout *L)
{
    if (!d || !L)
        return LSTM97_ERR_NULL;
    if (d->I < 1 || d->K < 1 || d->B < 1 || d->S < 1 ||
        d->I > LSTM97_MAX_DIM || d->K > LSTM97_MAX_DIM ||
        d->B > LSTM97_MAX_DIM || d->S > LSTM97_MAX_DIM ||
        (int64_t)d->B * d->S > LSTM97_MAX_DIM)
        return LSTM97_ERR_DIMS;
    if (d->output_gate != 0 && d->output_gate != 1)
        return LSTM97_ERR_DIMS;
    if (d->forget_gate != 0)
        return LSTM97_ERR_UNSUPPORTED;
    if (d->kernel != LSTM97_KERNEL_FAST && d->kernel != LSTM97_KERNEL_NAIVE)
        return LSTM97_ERR_DIMS;
    if (d->g < LSTM97_G2 || d->g > LSTM97_G_TANH ||
        d->h < LSTM97_H1 || d->h > LSTM97_H_TANH ||
        d->out < LSTM97_OUT_LOGISTIC || d->out > LSTM97_OUT_LINEAR)
        return LSTM97_ERR_ACTIVATION;

    ptrdiff_t I = d->I, K = d->K, B = d->B, C = (ptrdiff_t)d->B * d->S;
    ptrdiff_t n_gates = d->output_gate ? 2 : 1;
    L->C = C;
    L->nz = 1 + I + C + n_gates * B;
    L->nu = 1 + I + C;
    L->W_in = 0;
    L->W_out = d->output_gate ? B * L->nz : -1;
    L->W_c = n_gates * B * L->nz;
    L->W_k = L->W_c + C * L->nz;
    L->n_params = L->W_k + K * L->nu;
    L->state_len = L->nz + C + 2 * C * L->nz;           /* z, s, dS_c, dS_in */
    L->work_len = L->nu + 3 * B + 5 * C + 2 * K          /* activations and errors */
                  + n_gates * B + C + K;                  /* mask row flags */
    return LSTM97_OK;
}

#define REAL double
#define FN(x) x##_f64
#define EXP exp
#define TANH tanh
#include "lstm97_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH

#define REAL float
#define FN(x) x##_f32
#define EXP expf
#define TANH tanhf
#include "lstm97_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH
