/*
 * lstm97_sig_lanes.h -- lstm97_sig on the lanes of one GCC/Clang vector, written once.
 *
 * Included by lstm97_exp.h once per width with SIGV_N (lanes, a literal) and SIGV_ATTR
 * (the function's attributes), and SIGV_AVX2 for the four lanes of AVX2 (a movemask for
 * the range check, gathers for the table) or SIGV_AVX512 for the eight lanes of AVX-512
 * (a compare into a mask, gathers), which it undefines at its end.  It declares the vector
 * types lstm97_v<N>d, lstm97_v<N>u, lstm97_v<N>i (double, uint64_t, int64_t) and the
 * function lstm97_sig<N>: lane by lane the operations of lstm97_sig, in the same order
 * (the build passes -ffp-contract=off), so the same bits as the scalar function; and
 * lstm97_sig<N>_inrange, the same for lanes known to be within LSTM97_SIG_MAX_ARG (no
 * check, no call: a loop of it keeps its constants in registers), which
 * lstm97_sig<N>_ok checks.
 */
#define SIGV_CAT_(a, n, b) a##n##b
#define SIGV_CAT(a, n, b) SIGV_CAT_(a, n, b)
#define SIGV_D SIGV_CAT(lstm97_v, SIGV_N, d)
#define SIGV_U SIGV_CAT(lstm97_v, SIGV_N, u)
#define SIGV_I SIGV_CAT(lstm97_v, SIGV_N, i)
#define SIGV_FN SIGV_CAT(lstm97_sig, SIGV_N, )
#define SIGV_FNR SIGV_CAT(lstm97_sig, SIGV_N, _inrange)
#define SIGV_FNOK SIGV_CAT(lstm97_sig, SIGV_N, _ok)

typedef double SIGV_D __attribute__((vector_size(8 * SIGV_N), aligned(8)));
typedef uint64_t SIGV_U __attribute__((vector_size(8 * SIGV_N), aligned(8)));
typedef int64_t SIGV_I __attribute__((vector_size(8 * SIGV_N), aligned(8)));

/* lstm97_sig on every lane of x, each lane |x| <= LSTM97_SIG_MAX_ARG (not NaN): the
 * caller has checked the range (SIGV_FN below, or a check of a whole array) */
SIGV_ATTR static inline SIGV_D SIGV_FNR(SIGV_D x)
{
    const SIGV_D one = (SIGV_D){0} + 1.0;
    SIGV_D ax = (SIGV_D)((SIGV_U)x & ((SIGV_U){0} + 0x7fffffffffffffffu));
    SIGV_D xn = -ax;
    SIGV_D kd = lstm97_exp_invln2N * xn + lstm97_exp_shift;
    SIGV_U ki = (SIGV_U)kd;
    kd -= lstm97_exp_shift;
    SIGV_D r = xn + kd * lstm97_exp_negln2hiN + kd * lstm97_exp_negln2loN;
    SIGV_U idx = 2 * (ki % LSTM97_EXP_N);
    SIGV_U tailb, sbits;
#if defined(SIGV_AVX2)
    /* the two table words of each lane by AVX2 gathers (the same loads) */
    {
        typedef long long v4ll __attribute__((vector_size(32)));
        const v4ll all = (v4ll){0} - 1, ix = (v4ll)idx;
        tailb = (SIGV_U)__builtin_ia32_gatherdiv4di((v4ll){0},
                                                    (const long long *)lstm97_exp_tab, ix,
                                                    all, 8);
        sbits = (SIGV_U)__builtin_ia32_gatherdiv4di((v4ll){0},
                                                    (const long long *)lstm97_exp_tab + 1, ix,
                                                    all, 8);
    }
#elif defined(SIGV_AVX512)
    /* the two table words of each lane by AVX-512 gathers (the same loads) */
    {
        typedef long long v8ll __attribute__((vector_size(64)));
        const v8ll ix = (v8ll)idx;
        tailb = (SIGV_U)__builtin_ia32_gatherdiv8di((v8ll){0}, (const void *)lstm97_exp_tab,
                                                    ix, (unsigned char)0xff, 8);
        sbits = (SIGV_U)__builtin_ia32_gatherdiv8di((v8ll){0},
                                                    (const void *)(lstm97_exp_tab + 1), ix,
                                                    (unsigned char)0xff, 8);
    }
#else
    for (int l = 0; l < SIGV_N; l++) {
        tailb[l] = lstm97_exp_tab[idx[l]];
        sbits[l] = lstm97_exp_tab[idx[l] + 1];
    }
#endif
    SIGV_D tail = (SIGV_D)tailb;
    SIGV_D scale = (SIGV_D)(sbits + (ki << 45));
    SIGV_D r2 = r * r;
    SIGV_D tmp = tail + r + r2 * (lstm97_exp_c2 + r * lstm97_exp_c3) +
                 r2 * r2 * (lstm97_exp_c4 + r * lstm97_exp_c5);
    SIGV_D e = scale + scale * tmp;
    SIGV_I pos = x >= 0;                                 /* lanes: -1 where x >= 0 */
    SIGV_D num = (SIGV_D)(((SIGV_I)one & pos) | ((SIGV_I)e & ~pos));
    return num / (one + e);
}


/* every lane of x within +-LSTM97_SIG_MAX_ARG (a NaN is not) */
SIGV_ATTR static inline int SIGV_FNOK(SIGV_D x)
{
    SIGV_D ax = (SIGV_D)((SIGV_U)x & ((SIGV_U){0} + 0x7fffffffffffffffu));
#if defined(SIGV_AVX2)
    /* one compare, one movemask */
    return __builtin_ia32_movmskpd256((SIGV_D)(ax <= LSTM97_SIG_MAX_ARG)) == 15;
#elif defined(SIGV_AVX512)
    /* one compare into a mask register (2: less or equal, false for NaN) */
    return __builtin_ia32_cmppd512_mask(ax, (SIGV_D){0} + LSTM97_SIG_MAX_ARG, 2,
                                        (unsigned char)0xff, 4) == 0xff;
#else
    int in_range = 1;
    for (int l = 0; l < SIGV_N; l++)
        in_range &= ax[l] <= LSTM97_SIG_MAX_ARG;
    return in_range;
#endif
}

SIGV_ATTR static inline SIGV_D SIGV_FN(SIGV_D x)
{
    if (!SIGV_FNOK(x)) {                                 /* some lane large, inf or NaN */
        SIGV_D y;
        for (int l = 0; l < SIGV_N; l++)
            y[l] = lstm97_sig(x[l]);
        return y;
    }
    return SIGV_FNR(x);
}

#undef SIGV_N
#undef SIGV_D
#undef SIGV_U
#undef SIGV_I
#undef SIGV_FN
#undef SIGV_FNR
#undef SIGV_FNOK
#undef SIGV_ATTR
#undef SIGV_AVX2
#undef SIGV_AVX512
#undef SIGV_CAT
#undef SIGV_CAT_
