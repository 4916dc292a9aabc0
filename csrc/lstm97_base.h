/*
 * lstm97_base.h -- what every step of lstm97_impl.h shares, for one REAL (FN(x) names).
 *
 * The one fixed order of every dot product (so that the plain and the tuned step agree
 * bit for bit), the views of the caller's work buffer, the rows of the masks without a
 * zero, a peephole input sum_{c in j} P[c] s[c] ("The LSTM family" in docs/model.md), and
 * the vector types of the tuned code.  Part of lstm97_impl.h: no include guard.
 */

/* Every dot product of the kernels runs in one fixed order.  Short ones (n < 16) add the
 * terms in increasing m.  Longer ones take the order of a 4-lane vector loop: partial sums
 * s_l over the columns m = l (mod 4), each in increasing m, combined as
 * (s_0 + s_2) + (s_1 + s_3).  The plain kernel spells it out in scalars; the tuned mat-vec
 * runs the lanes in vector registers.  Same operations, same order: bitwise the same
 * result (the build passes -ffp-contract=off so that no a * b + c is fused). */
#define LSTM97_DOT_LANES_MIN 16

static inline REAL FN(dot)(const REAL *restrict a, const REAL *restrict b, ptrdiff_t n)
{
    if (n < LSTM97_DOT_LANES_MIN) {
        REAL acc = 0;
        for (ptrdiff_t m = 0; m < n; m++)
            acc += a[m] * b[m];
        return acc;
    }
    REAL s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    ptrdiff_t m = 0;
    for (; m + 4 <= n; m += 4) {
        s0 += a[m] * b[m];
        s1 += a[m + 1] * b[m + 1];
        s2 += a[m + 2] * b[m + 2];
        s3 += a[m + 3] * b[m + 3];
    }
    if (m < n)
        s0 += a[m] * b[m];
    if (m + 1 < n)
        s1 += a[m + 1] * b[m + 1];
    if (m + 2 < n)
        s2 += a[m + 2] * b[m + 2];
    return (s0 + s2) + (s1 + s3);
}

/* ---- buffer views ---------------------------------------------------------------------- */

typedef struct FN(lstm97_work_view) {
    REAL *u;        /* (nu)  output source vector u(t) = [1, x(t), y_c(t)] */
    REAL *y_in;     /* (B)   input-gate activations y_in(t) */
    REAL *y_out;    /* (B)   output-gate activations y_out(t) (1 without output gates) */
    REAL *y_phi;    /* (B)   forget-gate activations y_phi(t) (NULL without forget gates) */
    REAL *g_c;      /* (C)   g(net_c(t)) */
    REAL *h_s;      /* (C)   h(s_c(t)) */
    REAL *y_c;      /* (C)   cell outputs y_c(t) */
    REAL *y_k;      /* (K)   output-unit activations */
    REAL *e_k;      /* (K)   output errors, eq. 19 */
    REAL *back_c;   /* (C)   sum_k W_k[k, cell c] e_k */
    REAL *e_s;      /* (C)   state errors, eq. 23 */
    REAL *e_out;    /* (B)   output-gate errors, eq. 21 */
    REAL *s_prev;   /* (C)   s_c(t-1) (NULL without forget gates and peepholes) */
    REAL *full;     /* (rows) 1 where a row of the mask has no 0 (step_fast skips it) */
    int32_t *idx;   /* (I) int32 in REAL slots: indices of the nonzero inputs (step_fast) */
} FN(lstm97_work_view);

static inline __attribute__((always_inline)) FN(lstm97_work_view)
FN(work_view)(const lstm97_dims *d, const lstm97_layout *L, REAL *w)
{
    FN(lstm97_work_view) v;
    ptrdiff_t B = d->B, C = L->C, K = d->K;
    v.u = w;          w += L->nu;
    v.y_in = w;       w += B;
    v.y_out = w;      w += B;
    v.y_phi = NULL;
    if (d->forget_gate) {           /* y_in, y_out, y_phi, g_c: the order of their rows */
        v.y_phi = w;  w += B;
    }
    v.g_c = w;        w += C;
    v.h_s = w;        w += C;
    v.y_c = w;        w += C;
    v.y_k = w;        w += K;
    v.e_k = w;        w += K;
    v.back_c = w;     w += C;
    v.e_s = w;        w += C;
    v.e_out = w;      w += B;
    v.s_prev = NULL;
    if (d->forget_gate || d->peepholes) {
        v.s_prev = w; w += C;
    }
    v.full = w;       w += ((d->output_gate ? 2 : 1) + (d->forget_gate ? 1 : 0)) * B + C + K;
    v.idx = (int32_t *)(void *)w;
    return v;
}

/* full[r] = 1 if row r of the mask (rows in parameter-block order: W_in, W_out, W_phi, W_c,
 * W_k) holds no 0, else 0. */
static void FN(mask_rows)(const lstm97_layout *L, const REAL *masks, REAL *full)
{
    ptrdiff_t end_k = L->P_in >= 0 ? L->P_in : L->n_params;     /* peepholes follow W_k */
    ptrdiff_t n_zrows = L->W_k / L->nz, n_rows = n_zrows + (end_k - L->W_k) / L->nu;
    for (ptrdiff_t r = 0; r < n_rows; r++) {
        ptrdiff_t off = r < n_zrows ? r * L->nz : L->W_k + (r - n_zrows) * L->nu;
        ptrdiff_t len = r < n_zrows ? L->nz : L->nu;
        int all = 1;
        for (ptrdiff_t m = 0; m < len; m++)
            all &= masks[off + m] == (REAL)1;
        full[r] = (REAL)all;
    }
}

/* sum_{c in block j} P[c] s[c]: a peephole input of block j */
static inline REAL FN(peep)(const REAL *P, const REAL *s, ptrdiff_t j, ptrdiff_t S)
{
    REAL acc = 0;
    for (ptrdiff_t c = j * S; c < (j + 1) * S; c++)
        acc += P[c] * s[c];
    return acc;
}

/* A vector of LSTM97_VBYTES bytes of REAL (set per build by lstm97_variants.h: 16, an SSE2
 * register on x86-64; 32 with AVX2; 64 with AVX-512; GCC and Clang lower it to what the
 * target has): LSTM97_VBYTES / sizeof(REAL) lanes.  The typedef's alignment is that of REAL,
 * so a load from any column is allowed. */
#ifndef LSTM97_VBYTES
#define LSTM97_VBYTES 16
#endif
typedef REAL FN(vreg) __attribute__((vector_size(LSTM97_VBYTES), aligned(sizeof(REAL))));
