/*
 * fastlstm.h -- the 1997 LSTM (Hochreiter & Schmidhuber, Neural Computation 9(8), 1997)
 * and its truncated on-line gradient, computed forward in time.
 *
 * The math is docs/model.md; names follow its symbols (I, K, B, S, C = B*S, nz, T;
 * net_in, y_in, s, y_c, dS_c, dS_in, e_k, e_s, W_k ...).  docs/c-api.md shows how to
 * build, link and use the library, with a complete example (examples/c/adding.c).
 *
 * Python-free C99 (plus POSIX threads for lstm97_train_batch_*, unless the library was
 * built without them).  Link with -lfastlstm (pkg-config fastlstm, or CMake
 * find_package(fastlstm) and the target fastlstm::fastlstm).
 *
 * Ownership: every buffer is owned by the caller; the library keeps no pointer to one
 * after a call returns and no kernel allocates memory.
 *
 * Thread safety: the kernels are reentrant: two threads may run kernels at once as long
 * as they do not share a writable buffer (params, state, work, dW, y ...).  Process-wide
 * are only lstm97_set_isa (for tests) and the worker threads kept by
 * lstm97_train_batch_* (see there and lstm97_stop_threads).
 *
 * Status codes: every kernel returns an int status, LSTM97_OK (0) or a negative
 * LSTM97_ERR_* code (below), and never aborts; outputs are unspecified after an error
 * unless a function says otherwise.
 *
 * Each kernel exists for float64 (suffix _f64, REAL = double) and float32 (suffix _f32,
 * REAL = float); both are generated from one source (lstm97_impl.h).
 *
 * ---------------------------------------------------------------------------------------
 * Sizes: fill an lstm97_dims and call lstm97_layout_of(&dims, &L); it validates the dims
 * and gives every length and offset below (L.n_params, L.state_len, L.work_len, L.W_in,
 * L.W_out, L.W_c, L.W_k); lstm97_tape_len gives the tape length of lstm97_gradient_*.
 *
 * Parameter block (one contiguous REAL array of L.n_params elements, row-major, in this
 * order, starting at the offsets L.W_in, L.W_out, L.W_c, L.W_k):
 *   W_in  : (B, nz)        input-gate weights
 *   W_out : (B, nz)        output-gate weights         (absent when output_gate == 0:
 *                                                      L.W_out == -1)
 *   W_c   : (C, nz)        cell-input weights; cell c belongs to block c / S
 *   W_k   : (K, 1 + I + C) output-unit weights
 * masks: a second REAL array of the same shape, 0 or 1.  A masked weight must be 0 and is
 * never updated.  lstm97_masks_* and lstm97_init_uniform_* (at the end of this file)
 * build the masks and initial weights of a paper net, as fastlstm.LSTM does.
 *
 * Source vectors:  z(t) = [1, x(t), y_c(t-1), y_in(t-1), y_out(t-1)]   (nz)
 *                  u(t) = [1, x(t), y_c(t)]                           (1 + I + C)
 * so column 0 of every weight matrix is the bias, columns 1..I the inputs, and (W_in,
 * W_out, W_c) columns 1+I.. the recurrent connections.
 * With sources == LSTM97_SOURCES_CELLS (the modern LSTM's topology) z(t) = [1, x(t),
 * y_c(t-1)]: gates and cell inputs read the inputs and the previous cell outputs only.
 *
 * State (REAL array of L.state_len elements; all zero at a sequence start):
 *   z     : (nz)      z(t+1) minus its x part: [1, (x slot), y_c(t), y_in(t), y_out(t)]
 *   s     : (C)       cell states s_c(t)
 *   dS_c  : (C, nz)   trace ds_c / dW_c[c, :]                            (eq. 27)
 *   dS_in : (C, nz)   trace ds_c / dW_in[block(c), :]                    (eq. 25)
 * Work (REAL array of L.work_len elements; scratch, contents irrelevant between calls):
 * u, net_in, y_in, net_out, y_out, g_c, h_s, y_c, net_k, y_k, e_k, back_c, e_s, e_out,
 * one flag per parameter row (is its mask row free of zeros) and the indices of the
 * nonzero inputs.
 * ---------------------------------------------------------------------------------------
 */
#ifndef FASTLSTM_H
#define FASTLSTM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* status codes */
#define LSTM97_OK               0
#define LSTM97_ERR_DIMS        -1   /* a size is < 0, too large, or a block is empty */
#define LSTM97_ERR_ACTIVATION  -2   /* unknown activation id */
#define LSTM97_ERR_UNSUPPORTED -3   /* an option this call does not support */
#define LSTM97_ERR_NULL        -4   /* a required buffer is NULL */
#define LSTM97_ERR_LENGTH      -5   /* T < 1 */
#define LSTM97_ERR_SCHEDULE    -6   /* unknown schedule / step mode */
#define LSTM97_ERR_NONFINITE   -7   /* an activation, state or weight became NaN/Inf */
#define LSTM97_ERR_ALPHA       -8   /* learning rate not finite */
#define LSTM97_ERR_THREADS     -9   /* n_threads out of range, or a thread could not start */

#define LSTM97_MAX_THREADS 64

/* activation ids: cell input squash g, cell output squash h, output units */
/* g and h: the paper's squashing functions, and each of h's for g and g's for h (the
 * caption of the paper's Table 10 swaps g and h; "h1" as g and "g2"/"g1" as h let the
 * experiments test that reading). */
enum lstm97_g   { LSTM97_G2 = 0, LSTM97_G1 = 1, LSTM97_G_TANH = 2, LSTM97_G_H1 = 3,
                  LSTM97_G_ID = 4 };
enum lstm97_h   { LSTM97_H1 = 0, LSTM97_H_ID = 1, LSTM97_H_TANH = 2, LSTM97_H_G2 = 3,
                  LSTM97_H_G1 = 4 };
/* output units: logistic or linear with squared error (1997); softmax over the K units
 * with cross-entropy, output error e_k = t_k - y_k */
enum lstm97_out { LSTM97_OUT_LOGISTIC = 0, LSTM97_OUT_LINEAR = 1, LSTM97_OUT_SOFTMAX = 2 };

/* what gates and cell inputs read: the 1997 topology or inputs and cell outputs only */
enum lstm97_sources { LSTM97_SOURCES_FULL = 0, LSTM97_SOURCES_CELLS = 1 };

/* kernel variants: the tuned step and the plain scalar reference it is tested against;
 * both compute every sum in the same order */
enum lstm97_kernel { LSTM97_KERNEL_FAST = 0, LSTM97_KERNEL_NAIVE = 1 };

/* schedules: when the truncated-gradient updates are applied */
enum lstm97_schedule {
    LSTM97_STEP = 0,      /* after every step with a target (the paper's on-line rule) */
    LSTM97_SEQUENCE = 1   /* summed into dW, applied at the sequence end */
};

/* modes of lstm97_step */
enum lstm97_mode {
    LSTM97_FORWARD = 0,     /* forward only; traces are not touched */
    LSTM97_LEARN = 1,       /* forward, traces, and (with a target) update params now */
    LSTM97_ACCUMULATE = 2   /* forward, traces, and (with a target) add the update to dW */
};

typedef struct lstm97_dims {
    int32_t I, K, B, S;     /* inputs, outputs, blocks, cells per block */
    int32_t output_gate;    /* 1: output gates present; 0: y_out = 1 */
    int32_t forget_gate;    /* 1: a forget gate per block (Gers et al. 2000), W_phi; 0: y_phi = 1 */
    int32_t g, h, out;      /* enum lstm97_g / lstm97_h / lstm97_out */
    int32_t kernel;         /* LSTM97_KERNEL_FAST (default) or LSTM97_KERNEL_NAIVE */
    /* fields added after the 1997 cell; 0 (a zero-initialised struct) gives the 1997 cell */
    int32_t sources;        /* enum lstm97_sources (default LSTM97_SOURCES_FULL) */
    int32_t peepholes;      /* 1: peephole weights P_in, P_phi, P_out (Gers et al. 2002) */
} lstm97_dims;

typedef struct lstm97_layout {
    ptrdiff_t C, nz, nu;                 /* cells, |z|, |u| = 1 + I + C */
    ptrdiff_t W_in, W_out, W_c, W_k;     /* offsets into the parameter block (W_out = -1 if absent) */
    ptrdiff_t n_params;                  /* parameter block length */
    ptrdiff_t state_len, work_len;       /* lengths of the state and work buffers */
    ptrdiff_t W_phi;                     /* offset of W_phi (-1 without forget gates) */
    ptrdiff_t P_in, P_phi, P_out;        /* peephole offsets, (C) each, after W_k (-1 if absent) */
} lstm97_layout;

/* Validate dims and fill the layout.  Returns LSTM97_OK or an error code. */
int lstm97_layout_of(const lstm97_dims *d, lstm97_layout *L);

/* ---- kernels (float64; identical _f32 versions take float) ---- */

/* Zero a state buffer (a sequence start). */
int lstm97_reset_f64(const lstm97_dims *d, double *state);

/* One time step from an explicit state (streaming use).
 *   params: (n_params)      read; written in mode LSTM97_LEARN
 *   masks : (n_params)      0/1; may be NULL in mode LSTM97_FORWARD
 *   x_t   : (I)             input at this step
 *   t_t   : (K) or NULL     target at this step (NULL: no target, no update)
 *   alpha : learning rate
 *   y_t   : (K)             output y_k(t) (written)
 *   state : (state_len)     carried between steps
 *   work  : (work_len)      scratch
 *   dW    : (n_params)      accumulator, mode LSTM97_ACCUMULATE only (else may be NULL)
 * Returns LSTM97_ERR_NONFINITE if an output or a cell state is not finite, or (mode
 * LSTM97_LEARN with a target) if a weight is not finite after the update. */
int lstm97_step_f64(const lstm97_dims *d, double *params, const double *masks,
                    const double *x_t, const double *t_t, double alpha, int mode,
                    double *y_t, double *state, double *work, double *dW);

/* Forward over a sequence (state reset at its start).
 *   x: (T, I), y: (T, K) written. */
int lstm97_forward_f64(const lstm97_dims *d, const double *params,
                       const double *x, int64_t T, double *y,
                       double *state, double *work);

/* On-line truncated-gradient training over one sequence (state reset at its start).
 *   x: (T, I); t: (T, K) targets; tmask: (T) 1 where a target is given (NULL: every step);
 *   y: (T, K) outputs as computed during training (written);
 *   schedule: LSTM97_STEP or LSTM97_SEQUENCE; dW: (n_params) scratch, needed for
 *   LSTM97_SEQUENCE (may be NULL for LSTM97_STEP).
 * On LSTM97_ERR_NONFINITE the parameters may have been partly updated: the caller keeps
 * a copy if it needs the call to be transactional. */
int lstm97_train_f64(const lstm97_dims *d, double *params, const double *masks,
                     const double *x, const double *t, const uint8_t *tmask, int64_t T,
                     double alpha, int schedule, double *y,
                     double *state, double *work, double *dW);

/* lstm97_train with the schedule "step" on one-hot inputs given by index: idx (T) holds
 * at step s the input unit that is 1 (the others 0), or -1 for an all-zero input.  The
 * outputs, parameters and state are bitwise those of lstm97_train on the dense one-hot
 * x (T, I); the cost of a step does not grow with I.  The 1997 cell only: returns
 * LSTM97_ERR_UNSUPPORTED with a forget gate or peepholes, LSTM97_ERR_DIMS for an index
 * outside [-1, I).  work's values need not be kept between calls. */
int lstm97_train_onehot_f64(const lstm97_dims *d, double *params, const double *masks,
                            const int32_t *idx, const double *t, const uint8_t *tmask,
                            int64_t T, double alpha, double *y, double *state,
                            double *work);

/* T steps from the state as it is (no reset; in mode LSTM97_ACCUMULATE nothing is
 * applied): the streaming kernel that feeds a long sequence in pieces.  Arguments as
 * lstm97_train, with mode as in lstm97_step; t may be NULL in mode LSTM97_FORWARD.
 * Feeding a sequence in pieces gives exactly the result of one call. */
int lstm97_run_f64(const lstm97_dims *d, double *params, const double *masks,
                   const double *x, const double *t, const uint8_t *tmask, int64_t T,
                   double alpha, int mode, double *y, double *state, double *work,
                   double *dW);

/* params += dW (masked entries of dW are 0 by construction), then dW = 0.
 * Returns LSTM97_ERR_NONFINITE if a parameter is not finite afterwards. */
int lstm97_apply_f64(const lstm97_dims *d, double *params, double *dW);

/* Length of the tape of lstm97_gradient for T steps: T * (nz + 2B + 3C) values of the
 * forward pass plus nu + K + 5C + 2B + nz of scratch; -1 if the dims are invalid. */
int64_t lstm97_tape_len(const lstm97_dims *d, int64_t T);

/* Gradient of one sequence by back-propagation through time (the reverse-mode reference
 * and the "full-gradient" ablation; not the on-line rule): stores the forward pass of all
 * T steps in `tape` (lstm97_tape_len values: memory O(T)), then runs back in time.
 *   loss = 1/2 sum_{t with target} sum_k (t_k - y_k)^2, written to *loss (softmax
 *   outputs: sum_{t with target} log sum_k e^{net_k} - sum_k t_k net_k, the cross-entropy
 *   -sum_k t_k log y_k when the targets of a step sum to 1);
 *   grad = dloss/dW (n_params; entries where masks is 0 are 0);  y: (T, K) outputs.
 * truncated = 0: the exact gradient; 1: every recurrent entry of z(t) is a constant, so
 * that -alpha grad equals the summed update of lstm97_train with LSTM97_SEQUENCE
 * (docs/model.md, identities).  State reset at the start.  Returns LSTM97_ERR_NONFINITE
 * if an output or a cell state is not finite (grad and *loss are then undefined). */
int lstm97_gradient_f64(const lstm97_dims *d, const double *params, const double *masks,
                        const double *x, const double *t, const uint8_t *tmask, int64_t T,
                        int truncated, double *y, double *grad, double *loss,
                        double *tape);

/* 1 if all n values are finite, else 0. */
int lstm97_all_finite_f64(ptrdiff_t n, const double *v);

/* The logistic function of the kernels, out[i] = 1 / (1 + e^-x[i]) (in == out allowed;
 * see lstm97_exp.h: within 3 ulp of the exact value; libm's exp for |x| > 512).  lanes:
 * 0 as the kernels evaluate it, or 1, 2, 4 values at a time (4 only with AVX2; for tests:
 * every choice gives the same bits). */
void lstm97_sig_f64(ptrdiff_t n, const double *x, double *out, int lanes);
/* The widest lanes value lstm97_sig_f64 evaluates as asked on this build and CPU: 4, 2
 * or 1 (smaller values always work). */
int lstm97_sig_max_lanes(void);

/* The kernels exist for the baseline instruction set and, on x86-64 built with GCC or
 * Clang, for AVX2 and AVX-512 (F, VL, DQ, BW), chosen at run time from CPUID and XGETBV;
 * all give the same bits.  lstm97_set_isa(level) makes every later call use the build of
 * that level: 1 the baseline, 2 AVX2, 3 AVX-512 (at most what the CPU and OS support), 0
 * (or any other value) the best they support (the default); process-wide, for tests and
 * benchmarks.  lstm97_get_isa() returns the level whose build runs (1, 2 or 3),
 * lstm97_cpu_isa() the best level of this build on this CPU. */
void lstm97_set_isa(int level);
int lstm97_get_isa(void);
int lstm97_cpu_isa(void);

/* lstm97_train_batch runs each full block of 4 sequences of a net of the tuned 1997 cell
 * (no forget gate, no peepholes, no softmax outputs) in the lanes of vector registers;
 * the results are bitwise those of the sequence-by-sequence path.  lstm97_batch_lanes(d)
 * returns 1 if it does for these dims, 0 if not, -1 for invalid dims.
 * lstm97_set_batch_lanes(0) turns the lanes path off (process-wide; for tests and
 * benchmarks), lstm97_set_batch_lanes(1) on again (the default). */
void lstm97_set_batch_lanes(int on);
int lstm97_batch_lanes(const lstm97_dims *d);

/* Mini-batch training: N sequences of length T in lockstep, each with its own state and
 * traces; the parameters move by the mean update (1/N) sum_n dW_n after every step
 * (LSTM97_STEP) or once at the end (LSTM97_SEQUENCE).  Ragged lengths: zero tmask rows.
 *   x: (N, T, I); t: (N, T, K); tmask: (N, T) or NULL (a target at every step);
 *   y: (N, T, K) outputs (written); state: (N, state_len); work: (N, work_len);
 *   dW: (N, n_params) scratch.  n_threads in [1, LSTM97_MAX_THREADS] POSIX threads
 *   (each owns whole blocks of 4 sequences, so at most ceil(N / 4) are used); the sums
 *   run over fixed blocks, so the result is bitwise the same for every n_threads.
 *   The threads started by a call stay for the next (they block every signal): after
 *   a call each spins for about 0.2 ms on its core, then sleeps; a call wakes only the
 *   ones it uses.  One call at a time uses them; a call made meanwhile from another
 *   thread starts threads of its own. */
int lstm97_train_batch_f64(const lstm97_dims *d, double *params, const double *masks,
                           const double *x, const double *t, const uint8_t *tmask,
                           int64_t N, int64_t T, double alpha, int schedule, int n_threads,
                           double *y, double *state, double *work, double *dW);

/* The thread count a caller that has n_threads threads to spare should pass to
 * lstm97_train_batch_f64 with these arguments (tmask may be NULL): n_threads, or fewer
 * when more threads would make the call slower (a batch of fewer sequences than a lane
 * group per thread, or too little work per thread in the whole call or between the steps
 * with a target, where the threads meet; see lstm97_batch.h).  1 without threads.
 * Returns a count in [1, n_threads], or an error of lstm97_layout_of (LSTM97_ERR_DIMS,
 * ...), LSTM97_ERR_LENGTH (N < 1 or T < 1), LSTM97_ERR_SCHEDULE, LSTM97_ERR_THREADS
 * (n_threads outside [1, LSTM97_MAX_THREADS]).  lstm97_train_batch itself uses the count it is
 * given (at most ceil(N / 4)); the results are the same bits for every count. */
int lstm97_batch_threads_f64(const lstm97_dims *d, const uint8_t *tmask, int64_t N,
                             int64_t T, int schedule, int n_threads);
int lstm97_batch_threads_f32(const lstm97_dims *d, const uint8_t *tmask, int64_t N,
                             int64_t T, int schedule, int n_threads);

int lstm97_reset_f32(const lstm97_dims *d, float *state);
int lstm97_step_f32(const lstm97_dims *d, float *params, const float *masks,
                    const float *x_t, const float *t_t, double alpha, int mode,
                    float *y_t, float *state, float *work, float *dW);
int lstm97_forward_f32(const lstm97_dims *d, const float *params,
                       const float *x, int64_t T, float *y,
                       float *state, float *work);
int lstm97_train_f32(const lstm97_dims *d, float *params, const float *masks,
                     const float *x, const float *t, const uint8_t *tmask, int64_t T,
                     double alpha, int schedule, float *y,
                     float *state, float *work, float *dW);
int lstm97_train_onehot_f32(const lstm97_dims *d, float *params, const float *masks,
                            const int32_t *idx, const float *t, const uint8_t *tmask,
                            int64_t T, double alpha, float *y, float *state, float *work);
int lstm97_apply_f32(const lstm97_dims *d, float *params, float *dW);
int lstm97_run_f32(const lstm97_dims *d, float *params, const float *masks,
                   const float *x, const float *t, const uint8_t *tmask, int64_t T,
                   double alpha, int mode, float *y, float *state, float *work,
                   float *dW);
int lstm97_all_finite_f32(ptrdiff_t n, const float *v);
int lstm97_gradient_f32(const lstm97_dims *d, const float *params, const float *masks,
                        const float *x, const float *t, const uint8_t *tmask, int64_t T,
                        int truncated, float *y, float *grad, double *loss, float *tape);
int lstm97_train_batch_f32(const lstm97_dims *d, float *params, const float *masks,
                           const float *x, const float *t, const uint8_t *tmask,
                           int64_t N, int64_t T, double alpha, int schedule, int n_threads,
                           float *y, float *state, float *work, float *dW);

/* ---- batched inference ------------------------------------------------------------------
 * Forward over N sequences of up to T steps, on n_threads POSIX threads (each a contiguous
 * range of sequences; the threads of lstm97_train_batch, see there).  Sequence n runs
 * lengths[n] steps from its own state and gives exactly the bits of lstm97_run in mode
 * LSTM97_FORWARD (lstm97_forward from a zero state), whatever n_threads is.
 *   x: (N, T, I); lengths: (N) values in [0, T], or NULL (T steps each);
 *   y: (N, T, K) written; rows t >= lengths[n] of sequence n are set to 0;
 *   zs: (N, nz + C) the first nz + C values of each sequence's state (z and s; the
 *       traces play no part in a forward pass): read at the start, written at the end
 *       (all zero: a sequence start);
 *   scratch: (n_threads, state_len + work_len);
 *   failed: NULL, or set to the first sequence whose outputs or cell states became
 *       NaN/Inf (-1 if none).
 * n_threads in [1, LSTM97_MAX_THREADS] (at most N are used).  Returns LSTM97_ERR_LENGTH
 * if N < 1, T < 1 or a length is outside [0, T]; LSTM97_ERR_NONFINITE if a sequence's
 * outputs or cell states became NaN/Inf (every sequence is still computed). */
int lstm97_forward_batch_f64(const lstm97_dims *d, const double *params, const double *x,
                             const int64_t *lengths, int64_t N, int64_t T, int n_threads,
                             double *y, double *zs, double *scratch, int64_t *failed);
int lstm97_forward_batch_f32(const lstm97_dims *d, const float *params, const float *x,
                             const int64_t *lengths, int64_t N, int64_t T, int n_threads,
                             float *y, float *zs, float *scratch, int64_t *failed);
/* ---- end of batched inference -------------------------------------------------------- */

/* ====================================================================================
 * Library version, kept threads, and building a paper net from C
 * (added with the standalone library: CMake, pkg-config; see docs/c-api.md)
 * ==================================================================================== */

/* The version of this header; lstm97_version() gives that of the library linked.  The
 * Python package's fastlstm.__version__ is the same string. */
#define FASTLSTM_VERSION_MAJOR 0
#define FASTLSTM_VERSION_MINOR 1
#define FASTLSTM_VERSION_PATCH 0
#define FASTLSTM_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for comparisons in #if */
#define FASTLSTM_VERSION \
    (FASTLSTM_VERSION_MAJOR * 10000 + FASTLSTM_VERSION_MINOR * 100 + FASTLSTM_VERSION_PATCH)

/* The library's version string, e.g. "0.1.0" (static storage; never NULL). */
const char *lstm97_version(void);
/* The library's FASTLSTM_VERSION number (compare with the header's to detect a mismatch
 * between the header compiled against and the library loaded). */
int lstm97_version_number(void);
/* 1 if the library was built with POSIX threads (lstm97_train_batch_* takes n_threads up
 * to LSTM97_MAX_THREADS), 0 if without (n_threads = 1 only; LSTM97_ERR_THREADS else). */
int lstm97_have_threads(void);

/* Stop the worker threads that lstm97_train_batch_* keeps between calls, and wait until
 * they have returned.  A call that uses them at that moment finishes first; a later call
 * starts new ones.  Safe to call any number of times, and when no thread was started.
 * Call it before unloading the library (dlclose) or at exit.  Returns LSTM97_OK, or
 * LSTM97_ERR_THREADS if the pool's lock cannot be taken. */
int lstm97_stop_threads(void);
/* Number of worker threads kept at this moment (0 after lstm97_stop_threads). */
int lstm97_n_kept_threads(void);

/* Topology options of a paper net: the same as those of fastlstm.LSTM
 * (output_gate lives in lstm97_dims). */
#define LSTM97_BIAS_GATES   1   /* bias weights of the input (and output) gates */
#define LSTM97_BIAS_CELLS   2   /* bias weights of the cell inputs */
#define LSTM97_BIAS_OUTPUTS 4   /* bias weights of the output units */
#define LSTM97_BIAS_ALL     7

typedef struct lstm97_topology {
    int32_t recurrent;        /* 1: gates and cells see y_c, y_in, y_out of the previous
                                 step (fastlstm.LSTM's default); 0: not */
    int32_t input_to_output;  /* 1: the output units see the inputs; 0: not (the default) */
    int32_t bias;             /* LSTM97_BIAS_* flags (default LSTM97_BIAS_ALL) */
} lstm97_topology;

/* fastlstm.LSTM's defaults: recurrent 1, input_to_output 0, bias LSTM97_BIAS_ALL. */
lstm97_topology lstm97_topology_default(void);

/* Fill masks (L.n_params values, 0 or 1) as fastlstm.LSTM builds them: all 1, then 0 in
 *   column 0 (bias) of W_in and W_out unless LSTM97_BIAS_GATES, of W_c unless
 *   LSTM97_BIAS_CELLS, of W_k unless LSTM97_BIAS_OUTPUTS;
 *   columns 1+I.. (recurrent) of W_in, W_out and W_c if recurrent == 0;
 *   columns 1..I (inputs) of W_k if input_to_output == 0.
 * topo == NULL means lstm97_topology_default().  The 1997 cell only: dims with a forget
 * gate, peepholes or "cells" sources give LSTM97_ERR_UNSUPPORTED (build those masks as
 * fastlstm.LSTM(...).masks does).  Returns LSTM97_ERR_NULL (masks NULL),
 * an error of lstm97_layout_of, or LSTM97_ERR_DIMS if recurrent or input_to_output is
 * not 0/1 or bias has bits outside LSTM97_BIAS_ALL. */
int lstm97_masks_f64(const lstm97_dims *d, const lstm97_topology *topo, double *masks);
int lstm97_masks_f32(const lstm97_dims *d, const lstm97_topology *topo, float *masks);

/* Initial weights: params[i] = u_i uniform in [-init_range, init_range) where masks[i]
 * is 1, +0 where it is 0 (masks NULL: no masked weight).  One draw per element, in the
 * order of the parameter block, masked elements included, from the documented generator
 * below; the same seed gives the same weights on every platform (float32: each value
 * rounded to nearest).  This is not numpy's generator: fastlstm.LSTM(seed=s) gives other
 * weights from the same distribution.
 * Generator: xoshiro256** (Blackman & Vigna) seeded by four outputs of splitmix64(seed);
 * u = -r + 2 r * ((next() >> 11) * 2^-53).
 * Returns LSTM97_ERR_NULL, an error of lstm97_layout_of, or LSTM97_ERR_ALPHA if
 * init_range is negative or not finite (float32: or above FLT_MAX / 2). */
int lstm97_init_uniform_f64(const lstm97_dims *d, const double *masks, double init_range,
                            uint64_t seed, double *params);
int lstm97_init_uniform_f32(const lstm97_dims *d, const float *masks, double init_range,
                            uint64_t seed, float *params);

/* Set the bias weights of the gates, as fastlstm.LSTM(in_gate_bias=, out_gate_bias=):
 * W_in[b, 0] = in_gate_bias[b], W_out[b, 0] = out_gate_bias[b] for b < B; either may be
 * NULL (left as it is).  Returns LSTM97_ERR_NULL (params or masks NULL), an error of
 * lstm97_layout_of, LSTM97_ERR_DIMS if out_gate_bias is given to a net without output
 * gates or if the gates have no bias weights (masks[W_in + b * nz] is 0), or
 * LSTM97_ERR_NONFINITE if a value is not finite or its magnitude exceeds the largest
 * REAL.  Nothing is written on an error. */
int lstm97_set_gate_bias_f64(const lstm97_dims *d, const double *masks,
                             const double *in_gate_bias, const double *out_gate_bias,
                             double *params);
int lstm97_set_gate_bias_f32(const lstm97_dims *d, const float *masks,
                             const double *in_gate_bias, const double *out_gate_bias,
                             float *params);

/* ---- interrupts: stopping a long call from outside ------------------------------------
 * lstm97_set_poll(fn, ctx) installs a process-wide poll: every kernel that runs over a
 * sequence (lstm97_forward, _train, _run, _gradient, _train_batch, _forward_batch) calls
 * fn(ctx) from the thread that called it after about every LSTM97_POLL_UNITS units of
 * work (one unit: one parameter or state element touched in one step; 2^23 units are
 * 1-10 ms on a current core), never from a worker thread of lstm97_train_batch or
 * lstm97_forward_batch.  A nonzero answer stops the
 * call at that point: it returns LSTM97_ERR_INTERRUPTED, with the outputs, the state, the
 * traces and (when learning) the parameters as they were when it stopped; a caller that
 * needs the call to be all-or-nothing keeps copies (as for LSTM97_ERR_NONFINITE).
 * The worker threads of lstm97_train_batch stop at their next step, those of
 * lstm97_forward_batch at their next piece of about LSTM97_POLL_UNITS.  fn may be called
 * concurrently from threads running kernels at once.  No poll is installed by default
 * (fn NULL: the kernels never call out, as in earlier versions); lstm97_set_poll(NULL,
 * NULL) removes it.  Calls of one step (lstm97_step, lstm97_apply, lstm97_reset) never
 * poll.  The Python package installs a poll that checks for Ctrl-C (SIGINT). */
#define LSTM97_ERR_INTERRUPTED -10  /* stopped by the poll of lstm97_set_poll */
#define LSTM97_POLL_UNITS ((int64_t)1 << 23)

typedef int (*lstm97_poll_fn)(void *ctx);
void lstm97_set_poll(lstm97_poll_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* FASTLSTM_H */
