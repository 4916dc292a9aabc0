/*
 * lstm97_init.c -- the library's version, and building a paper net from C: its masks
 * from the topology options and its initial weights from a seed (fastlstm.h, section
 * "Library version, kept threads, and building a paper net from C").
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "fastlstm.h"

const char *lstm97_version(void)
{
    return FASTLSTM_VERSION_STRING;
}

int lstm97_version_number(void)
{
    return FASTLSTM_VERSION;
}

int lstm97_have_threads(void)
{
#ifdef LSTM97_NO_THREADS
    return 0;
#else
    return 1;
#endif
}

lstm97_topology lstm97_topology_default(void)
{
    lstm97_topology t;
    t.recurrent = 1;
    t.input_to_output = 0;
    t.bias = LSTM97_BIAS_ALL;
    return t;
}

/* ---- the generator: splitmix64 seeds xoshiro256** ------------------------------------ */

typedef struct lstm97_rng {
    uint64_t s[4];
} lstm97_rng;

static uint64_t lstm97_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void lstm97_rng_seed(lstm97_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = lstm97_splitmix64(&seed);
}

static uint64_t lstm97_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t lstm97_rng_next(lstm97_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = lstm97_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = lstm97_rotl(s[3], 45);
    return result;
}

/* uniform in [0, 1): the top 53 bits */
static double lstm97_rng_unit(lstm97_rng *r)
{
    return (double)(lstm97_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- masks ------------------------------------------------------------------------------ */

static int lstm97_check_topology(const lstm97_topology *t)
{
    if ((t->recurrent != 0 && t->recurrent != 1) ||
        (t->input_to_output != 0 && t->input_to_output != 1) ||
        (t->bias & ~LSTM97_BIAS_ALL) != 0)
        return LSTM97_ERR_DIMS;
    return LSTM97_OK;
}

/* The mask value (0 or 1) of row `row`, column `col` of the matrix at offset `off`. */
static int lstm97_mask_at(const lstm97_dims *d, const lstm97_layout *L,
                          const lstm97_topology *t, ptrdiff_t off, ptrdiff_t col)
{
    const ptrdiff_t I = d->I;
    const int gates = off == L->W_in || (L->W_out >= 0 && off == L->W_out);
    if (off == L->W_k) {
        if (col == 0)
            return (t->bias & LSTM97_BIAS_OUTPUTS) != 0;
        if (col <= I)
            return t->input_to_output;
        return 1;
    }
    if (col == 0)
        return (t->bias & (gates ? LSTM97_BIAS_GATES : LSTM97_BIAS_CELLS)) != 0;
    if (col > I)
        return t->recurrent;
    return 1;
}

#define LSTM97_MASKS_BODY(REAL)                                                           \
    lstm97_layout L;                                                                      \
    int rc = lstm97_layout_of(d, &L);                                                     \
    if (rc != LSTM97_OK)                                                                  \
        return rc;                                                                        \
    if (d->forget_gate || d->peepholes || d->sources)  /* the 1997 cell's masks only */   \
        return LSTM97_ERR_UNSUPPORTED;                                                    \
    if (!masks)                                                                           \
        return LSTM97_ERR_NULL;                                                           \
    lstm97_topology def = lstm97_topology_default();                                      \
    const lstm97_topology *t = topo ? topo : &def;                                        \
    if ((rc = lstm97_check_topology(t)) != LSTM97_OK)                                     \
        return rc;                                                                        \
    const ptrdiff_t B = d->B, K = d->K;                                                   \
    const ptrdiff_t offs[4] = {L.W_in, L.W_out, L.W_c, L.W_k};                            \
    const ptrdiff_t rows[4] = {B, B, L.C, K};                                             \
    for (int m = 0; m < 4; m++) {                                                         \
        if (offs[m] < 0)                                                                  \
            continue;                                                                     \
        const ptrdiff_t cols = m == 3 ? L.nu : L.nz;                                      \
        for (ptrdiff_t r = 0; r < rows[m]; r++)                                           \
            for (ptrdiff_t c = 0; c < cols; c++)                                          \
                masks[offs[m] + r * cols + c] =                                           \
                    (REAL)lstm97_mask_at(d, &L, t, offs[m], c);                           \
    }                                                                                     \
    return LSTM97_OK;

int lstm97_masks_f64(const lstm97_dims *d, const lstm97_topology *topo, double *masks)
{
    LSTM97_MASKS_BODY(double)
}

int lstm97_masks_f32(const lstm97_dims *d, const lstm97_topology *topo, float *masks)
{
    LSTM97_MASKS_BODY(float)
}

/* ---- initial weights ---------------------------------------------------------------------- */

#define LSTM97_INIT_BODY(REAL, REAL_MAX)                                                  \
    lstm97_layout L;                                                                      \
    int rc = lstm97_layout_of(d, &L);                                                     \
    if (rc != LSTM97_OK)                                                                  \
        return rc;                                                                        \
    if (!params)                                                                          \
        return LSTM97_ERR_NULL;                                                           \
    if (!(init_range >= 0.0) || !(init_range <= (double)(REAL_MAX) / 2))                  \
        return LSTM97_ERR_ALPHA;                                                          \
    lstm97_rng rng;                                                                       \
    lstm97_rng_seed(&rng, seed);                                                          \
    for (ptrdiff_t i = 0; i < L.n_params; i++) {                                          \
        const double u = -init_range + 2.0 * init_range * lstm97_rng_unit(&rng);          \
        params[i] = (masks && masks[i] == 0) ? (REAL)0 : (REAL)u;                         \
    }                                                                                     \
    return LSTM97_OK;

int lstm97_init_uniform_f64(const lstm97_dims *d, const double *masks, double init_range,
                            uint64_t seed, double *params)
{
    LSTM97_INIT_BODY(double, DBL_MAX)
}

int lstm97_init_uniform_f32(const lstm97_dims *d, const float *masks, double init_range,
                            uint64_t seed, float *params)
{
    LSTM97_INIT_BODY(float, FLT_MAX)
}

/* ---- gate biases ------------------------------------------------------------------------- */

#define LSTM97_GATE_BIAS_BODY(REAL, REAL_MAX)                                             \
    lstm97_layout L;                                                                      \
    int rc = lstm97_layout_of(d, &L);                                                     \
    if (rc != LSTM97_OK)                                                                  \
        return rc;                                                                        \
    if (!params || !masks)                                                                \
        return LSTM97_ERR_NULL;                                                           \
    if (out_gate_bias && L.W_out < 0)                                                     \
        return LSTM97_ERR_DIMS;                                                           \
    const ptrdiff_t B = d->B;                                                             \
    for (ptrdiff_t b = 0; b < B; b++) {                                                   \
        if ((in_gate_bias && masks[L.W_in + b * L.nz] == 0) ||                            \
            (out_gate_bias && masks[L.W_out + b * L.nz] == 0))                            \
            return LSTM97_ERR_DIMS;                                                       \
        if ((in_gate_bias && !(fabs(in_gate_bias[b]) <= (double)(REAL_MAX))) ||           \
            (out_gate_bias && !(fabs(out_gate_bias[b]) <= (double)(REAL_MAX))))           \
            return LSTM97_ERR_NONFINITE;                                                  \
    }                                                                                     \
    for (ptrdiff_t b = 0; b < B; b++) {                                                   \
        if (in_gate_bias)                                                                 \
            params[L.W_in + b * L.nz] = (REAL)in_gate_bias[b];                            \
        if (out_gate_bias)                                                                \
            params[L.W_out + b * L.nz] = (REAL)out_gate_bias[b];                          \
    }                                                                                     \
    return LSTM97_OK;

int lstm97_set_gate_bias_f64(const lstm97_dims *d, const double *masks,
                             const double *in_gate_bias, const double *out_gate_bias,
                             double *params)
{
    LSTM97_GATE_BIAS_BODY(double, DBL_MAX)
}

int lstm97_set_gate_bias_f32(const lstm97_dims *d, const float *masks,
                             const double *in_gate_bias, const double *out_gate_bias,
                             float *params)
{
    LSTM97_GATE_BIAS_BODY(float, FLT_MAX)
}
