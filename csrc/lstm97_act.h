/*
 * lstm97_act.h -- activation functions and output errors, for one REAL (FN(x) names).
 *
 * The logistic sig (lstm97_exp.h's exp) one value or an array at a time; the softmax of
 * an output layer; the output error e_k (eq. 19, or t_k - y_k for softmax with
 * cross-entropy); the squashing functions g and h of the cells and their derivatives
 * written in terms of their values ("Squashing functions" and "The truncated gradient,
 * computed forward in time" in docs/model.md).  Part of lstm97_impl.h: no include guard,
 * it is compiled once per REAL and instruction set.
 */

/* ---- activation functions (docs/model.md) --------------------------------------------- */

/* The squashing functions of cells, f(x) and f' written in terms of the value v = f(x):
 * g2 = 4 sig - 2 (range [-2, 2]), g1 = sig, tanh, h1 = 2 sig - 1 (range [-1, 1]), id. */
#ifndef LSTM97_SQUASH_IDS
#define LSTM97_SQUASH_IDS
enum { SQ_G2, SQ_G1, SQ_TANH, SQ_H1, SQ_ID };
#endif

/* logistic sig(x) = 1 / (1 + e^-x), overflow-free for either sign of x: lstm97_exp.h
 * (evaluated in double, rounded for float) */
static inline REAL FN(sig)(REAL x)
{
    return (REAL)lstm97_sig((double)x);
}

/* out[i] = sig(in[i]) over an array (in == out allowed): the same values as FN(sig).
 * With `f` = SQ_H1 or SQ_G2 (a constant after inlining) the value is then mapped to
 * 2 sig - 1 or 4 sig - 2 in REAL, the arithmetic of FN(squash_from_sig), in the same pass.
 * In the AVX2 and AVX-512 builds four values at a time by lstm97_exp.h's four-lane
 * logistic, called directly (no test of the CPU: the build already requires AVX2; GCC
 * keeps lstm97_sig4 out of line, one call per four values), then
 * two by the two-lane one, the last by the scalar one; the baseline build's float64
 * logistic calls lstm97_sig_array (four lanes when the CPU has AVX2).  Every one gives
 * the scalar function's bits.  float is widened to double and rounded back value by value, as
 * FN(sig) does, in registers (no buffer in memory). */
static inline __attribute__((always_inline)) void FN(sig_array_f)(int f, ptrdiff_t n,
                                                                  const REAL *in, REAL *out)
{
    const int tr = f == SQ_H1 || f == SQ_G2;
    const REAL a = f == SQ_H1 ? (REAL)2 : (REAL)4, b = f == SQ_H1 ? (REAL)1 : (REAL)2;
    ptrdiff_t i = 0;
#if defined(__AVX2__) && defined(LSTM97_HAVE_SIG4)
    for (; i + 4 <= n; i += 4) {
        lstm97_v4d v = {(double)in[i], (double)in[i + 1], (double)in[i + 2],
                        (double)in[i + 3]};
        v = lstm97_sig4(v);
        for (int l = 0; l < 4; l++)
            out[i + l] = tr ? a * (REAL)v[l] - b : (REAL)v[l];
    }
#else
    if (sizeof(REAL) == sizeof(double) && !tr) {   /* four lanes if the CPU has AVX2 */
        lstm97_sig_array(n, (const double *)in, (double *)out);
        return;
    }
#endif
#if defined(__GNUC__) || defined(__clang__)
    for (; i + 2 <= n; i += 2) {
        lstm97_v2d v = lstm97_sig2((lstm97_v2d){(double)in[i], (double)in[i + 1]});
        out[i] = tr ? a * (REAL)v[0] - b : (REAL)v[0];
        out[i + 1] = tr ? a * (REAL)v[1] - b : (REAL)v[1];
    }
#endif
    for (; i < n; i++) {
        REAL v = (REAL)lstm97_sig((double)in[i]);
        out[i] = tr ? a * v - b : v;
    }
}

static inline __attribute__((always_inline)) void FN(sig_array)(ptrdiff_t n, const REAL *in,
                                                                REAL *out)
{
    FN(sig_array_f)(SQ_G1, n, in, out);
}

/* y[k] = e^{y[k] - max} / sum_j e^{y[j] - max} in place over the K net inputs (softmax
 * output layer); exp in double.  Returns log sum_k e^{net_k} (for the cross-entropy). */
static inline double FN(softmax)(ptrdiff_t K, REAL *y)
{
    REAL top = y[0];
    for (ptrdiff_t k = 1; k < K; k++)
        top = y[k] > top ? y[k] : top;
    double sum = 0;
    for (ptrdiff_t k = 0; k < K; k++) {
        double e = exp((double)(y[k] - top));
        y[k] = (REAL)e;
        sum += e;
    }
    for (ptrdiff_t k = 0; k < K; k++)
        y[k] = (REAL)((double)y[k] / sum);
    return (double)top + log(sum);
}

/* output error e_k of one unit: f_out'(net_k) (t_k - y_k) (eq. 19), or t_k - y_k for
 * softmax with cross-entropy */
static inline REAL FN(out_error)(int out, REAL y, REAL t)
{
    if (out == LSTM97_OUT_SOFTMAX)
        return t - y;
    REAL fp = out == LSTM97_OUT_LINEAR ? (REAL)1 : y * ((REAL)1 - y);
    return fp * (t - y);
}


static inline REAL FN(squash)(int f, REAL x)
{
    switch (f) {
    case SQ_G1:   return FN(sig)(x);
    case SQ_TANH: return TANH(x);
    case SQ_H1:   return (REAL)2 * FN(sig)(x) - (REAL)1;
    case SQ_ID:   return x;
    default:      return (REAL)4 * FN(sig)(x) - (REAL)2;
    }
}
static inline REAL FN(squash_prime)(int f, REAL v)
{
    switch (f) {
    case SQ_G1:   return v * ((REAL)1 - v);
    case SQ_TANH: return (REAL)1 - v * v;
    case SQ_H1:   return ((REAL)1 - v * v) * (REAL)0.5;
    case SQ_ID:   return (REAL)1;
    default:      return ((REAL)4 - v * v) * (REAL)0.25;
    }
}

/* v[i] = f(x_i) for a squash f built on sig, given v[i] = sig(x_i): the arithmetic of
 * FN(squash) after its sig */
static inline void FN(squash_from_sig)(int f, ptrdiff_t n, REAL *v)
{
    if (f == SQ_H1)
        for (ptrdiff_t i = 0; i < n; i++)
            v[i] = (REAL)2 * v[i] - (REAL)1;
    else if (f == SQ_G2)
        for (ptrdiff_t i = 0; i < n; i++)
            v[i] = (REAL)4 * v[i] - (REAL)2;
}

static inline int FN(squash_is_sig)(int f)
{
    return f == SQ_G1 || f == SQ_H1 || f == SQ_G2;
}

/* out[i] = f(in[i]) (in == out allowed): the same values as FN(squash) */
static inline __attribute__((always_inline)) void FN(squash_array)(int f, ptrdiff_t n,
                                                                   const REAL *in, REAL *out)
{
    if (f == SQ_G1) {
        FN(sig_array_f)(SQ_G1, n, in, out);
    } else if (f == SQ_H1) {
        FN(sig_array_f)(SQ_H1, n, in, out);
    } else if (f == SQ_G2) {
        FN(sig_array_f)(SQ_G2, n, in, out);
    } else {
        for (ptrdiff_t i = 0; i < n; i++)
            out[i] = FN(squash)(f, in[i]);
    }
}

/* out[i] = f'(x_i) given v[i] = f(x_i): the values of FN(squash_prime), the choice of f
 * made once for the array */
static inline void FN(squash_prime_array)(int f, ptrdiff_t n, const REAL *v, REAL *out)
{
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = FN(squash_prime)(f, v[i]);
}

/* the squashing function of each lstm97_g / lstm97_h id */
static inline int FN(g_squash)(int kind)
{
    static const int f[] = {SQ_G2, SQ_G1, SQ_TANH, SQ_H1, SQ_ID};
    return f[kind];
}
static inline int FN(h_squash)(int kind)
{
    static const int f[] = {SQ_H1, SQ_ID, SQ_TANH, SQ_G2, SQ_G1};
    return f[kind];
}

/* cell input squash g and its derivative g'(net) written in terms of g = g(net) */
static inline REAL FN(g_of)(int kind, REAL x)
{
    return FN(squash)(FN(g_squash)(kind), x);
}
static inline REAL FN(g_prime)(int kind, REAL g)
{
    return FN(squash_prime)(FN(g_squash)(kind), g);
}

/* cell output squash h and h'(s) in terms of h = h(s) */
static inline REAL FN(h_of)(int kind, REAL x)
{
    return FN(squash)(FN(h_squash)(kind), x);
}
static inline REAL FN(h_prime)(int kind, REAL h)
{
    return FN(squash_prime)(FN(h_squash)(kind), h);
}
