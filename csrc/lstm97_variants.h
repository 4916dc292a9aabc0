/*
 * lstm97_variants.h -- the kernels of one REAL (float or double, suffix SFX), included
 * by lstm97.c once per type.
 *
 * With LSTM97_AVX2_BUILD (x86-64, GCC >= 10 or Clang) lstm97_impl.h is compiled three
 * times, as static functions x_SFX_base (baseline instruction set), x_SFX_avx2 (target
 * "avx2": #pragma GCC target, or Clang's #pragma clang attribute) and x_SFX_avx512
 * (target "avx512f,avx512vl,avx512dq,avx512bw"), and the public
 * functions x_SFX call the one lstm97_isa_level() names: the best the CPU and the operating
 * system support, or the level lstm97_set_isa forced.  Otherwise lstm97_impl.h defines the
 * public functions itself.
 *
 * Each build sets LSTM97_VBYTES, the width of the vector type of the tuned helper loops
 * (FN(vreg), lstm97_base.h): 16 bytes in the baseline build (SSE2), 32 with AVX2, 64 with
 * AVX-512.  The loops are element by element or keep the fixed order of every dot product
 * (lstm97_base.h), and no build fuses a multiply and an add: every build gives the same
 * bits.
 */
#ifdef LSTM97_AVX2_BUILD
#define LSTM97_API static __attribute__((unused))
#define LSTM97_VBYTES 16
#define FN(x) LSTM97_CAT(x, LSTM97_CAT(SFX, base))
#include "lstm97_impl.h"
#undef FN
#undef LSTM97_VBYTES
LSTM97_TARGET_PUSH("avx2")
#define LSTM97_VBYTES 32
#define FN(x) LSTM97_CAT(x, LSTM97_CAT(SFX, avx2))
#include "lstm97_impl.h"
#undef FN
#undef LSTM97_VBYTES
LSTM97_TARGET_POP
LSTM97_TARGET_PUSH("avx512f,avx512vl,avx512dq,avx512bw")
#define LSTM97_VBYTES 64
#define FN(x) LSTM97_CAT(x, LSTM97_CAT(SFX, avx512))
#include "lstm97_impl.h"
#undef FN
#undef LSTM97_VBYTES
LSTM97_TARGET_POP
#undef LSTM97_API

#define PUB(x) LSTM97_CAT(x, SFX)
#define PICK(x, args)                                                                      \
    (lstm97_isa_level() == 3   ? LSTM97_CAT(x, LSTM97_CAT(SFX, avx512)) args                \
     : lstm97_isa_level() == 2 ? LSTM97_CAT(x, LSTM97_CAT(SFX, avx2)) args                  \
                               : LSTM97_CAT(x, LSTM97_CAT(SFX, base)) args)

int PUB(lstm97_all_finite)(ptrdiff_t n, const REAL *v)
{
    return PICK(lstm97_all_finite, (n, v));
}

int PUB(lstm97_reset)(const lstm97_dims *d, REAL *state)
{
    return PICK(lstm97_reset, (d, state));
}

int PUB(lstm97_step)(const lstm97_dims *d, REAL *params, const REAL *masks,
                     const REAL *x_t, const REAL *t_t, double alpha, int mode,
                     REAL *y_t, REAL *state, REAL *work, REAL *dW)
{
    return PICK(lstm97_step, (d, params, masks, x_t, t_t, alpha, mode, y_t, state, work, dW));
}

int PUB(lstm97_forward)(const lstm97_dims *d, const REAL *params, const REAL *x, int64_t T,
                        REAL *y, REAL *state, REAL *work)
{
    return PICK(lstm97_forward, (d, params, x, T, y, state, work));
}

int PUB(lstm97_run)(const lstm97_dims *d, REAL *params, const REAL *masks, const REAL *x,
                    const REAL *t, const uint8_t *tmask, int64_t T, double alpha, int mode,
                    REAL *y, REAL *state, REAL *work, REAL *dW)
{
    return PICK(lstm97_run, (d, params, masks, x, t, tmask, T, alpha, mode, y, state, work,
                             dW));
}

int PUB(lstm97_apply)(const lstm97_dims *d, REAL *params, REAL *dW)
{
    return PICK(lstm97_apply, (d, params, dW));
}

int PUB(lstm97_train)(const lstm97_dims *d, REAL *params, const REAL *masks, const REAL *x,
                      const REAL *t, const uint8_t *tmask, int64_t T, double alpha,
                      int schedule, REAL *y, REAL *state, REAL *work, REAL *dW)
{
    return PICK(lstm97_train, (d, params, masks, x, t, tmask, T, alpha, schedule, y, state,
                               work, dW));
}

int PUB(lstm97_gradient)(const lstm97_dims *d, const REAL *params, const REAL *masks,
                         const REAL *x, const REAL *t, const uint8_t *tmask, int64_t T,
                         int truncated, REAL *y, REAL *grad, double *loss, REAL *tape)
{
    return PICK(lstm97_gradient, (d, params, masks, x, t, tmask, T, truncated, y, grad, loss,
                                  tape));
}

int PUB(lstm97_train_batch)(const lstm97_dims *d, REAL *params, const REAL *masks,
                            const REAL *x, const REAL *t, const uint8_t *tmask, int64_t N,
                            int64_t T, double alpha, int schedule, int n_threads, REAL *y,
                            REAL *state, REAL *work, REAL *dW)
{
    return PICK(lstm97_train_batch, (d, params, masks, x, t, tmask, N, T, alpha, schedule,
                                     n_threads, y, state, work, dW));
}
int PUB(lstm97_batch_threads)(const lstm97_dims *d, const uint8_t *tmask, int64_t N,
                              int64_t T, int schedule, int n_threads)
{
    return PICK(lstm97_batch_threads, (d, tmask, N, T, schedule, n_threads));
}
int PUB(lstm97_train_onehot)(const lstm97_dims *d, REAL *params, const REAL *masks,
                             const int32_t *idx, const REAL *t, const uint8_t *tmask,
                             int64_t T, double alpha, REAL *y, REAL *state, REAL *work)
{
    return PICK(lstm97_train_onehot, (d, params, masks, idx, t, tmask, T, alpha, y, state,
                                      work));
}
#undef PUB
#undef PICK
#else
#define LSTM97_API
#define LSTM97_VBYTES 16
#define FN(x) LSTM97_CAT(x, SFX)
#include "lstm97_impl.h"
#undef FN
#undef LSTM97_VBYTES
#undef LSTM97_API
#endif
