# cython: language_level=3
# Declarations mirroring csrc/fastlstm.h, type for type.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

cdef extern from "fastlstm.h" nogil:
    int LSTM97_OK
    int LSTM97_ERR_DIMS
    int LSTM97_ERR_ACTIVATION
    int LSTM97_ERR_UNSUPPORTED
    int LSTM97_ERR_NULL
    int LSTM97_ERR_LENGTH
    int LSTM97_ERR_SCHEDULE
    int LSTM97_ERR_NONFINITE
    int LSTM97_ERR_ALPHA
    int LSTM97_ERR_THREADS
    int LSTM97_MAX_THREADS

    # interrupts (see the section "interrupts" of fastlstm.h)
    int LSTM97_ERR_INTERRUPTED
    int64_t LSTM97_POLL_UNITS
    ctypedef int (*lstm97_poll_fn)(void *ctx) noexcept
    void lstm97_set_poll(lstm97_poll_fn fn, void *ctx)

    int LSTM97_G2, LSTM97_G1, LSTM97_G_TANH, LSTM97_G_H1, LSTM97_G_ID
    int LSTM97_H1, LSTM97_H_ID, LSTM97_H_TANH, LSTM97_H_G2, LSTM97_H_G1
    int LSTM97_OUT_LOGISTIC, LSTM97_OUT_LINEAR, LSTM97_OUT_SOFTMAX
    int LSTM97_SOURCES_FULL, LSTM97_SOURCES_CELLS
    int LSTM97_KERNEL_FAST, LSTM97_KERNEL_NAIVE
    int LSTM97_STEP, LSTM97_SEQUENCE
    int LSTM97_FORWARD, LSTM97_LEARN, LSTM97_ACCUMULATE

    ctypedef struct lstm97_dims:
        int32_t I, K, B, S
        int32_t output_gate
        int32_t forget_gate
        int32_t g, h, out
        int32_t kernel
        int32_t sources
        int32_t peepholes

    ctypedef struct lstm97_layout:
        Py_ssize_t C, nz, nu
        Py_ssize_t W_in, W_out, W_c, W_k
        Py_ssize_t n_params
        Py_ssize_t state_len, work_len
        Py_ssize_t W_phi
        Py_ssize_t P_in, P_phi, P_out

    int lstm97_layout_of(const lstm97_dims *d, lstm97_layout *L)

    int lstm97_reset_f64(const lstm97_dims *d, double *state)
    int lstm97_step_f64(const lstm97_dims *d, double *params, const double *masks,
                        const double *x_t, const double *t_t, double alpha, int mode,
                        double *y_t, double *state, double *work, double *dW)
    int lstm97_forward_f64(const lstm97_dims *d, const double *params,
                           const double *x, int64_t T, double *y,
                           double *state, double *work)
    int lstm97_train_f64(const lstm97_dims *d, double *params, const double *masks,
                         const double *x, const double *t, const uint8_t *tmask, int64_t T,
                         double alpha, int schedule, double *y,
                         double *state, double *work, double *dW)
    int lstm97_train_onehot_f64(const lstm97_dims *d, double *params, const double *masks,
                                const int32_t *idx, const double *t, const uint8_t *tmask,
                                int64_t T, double alpha, double *y, double *state,
                                double *work)
    int lstm97_apply_f64(const lstm97_dims *d, double *params, double *dW)
    int lstm97_run_f64(const lstm97_dims *d, double *params, const double *masks,
                       const double *x, const double *t, const uint8_t *tmask, int64_t T,
                       double alpha, int mode, double *y, double *state, double *work,
                       double *dW)
    int lstm97_all_finite_f64(Py_ssize_t n, const double *v)
    void lstm97_sig_f64(Py_ssize_t n, const double *x, double *out, int lanes)
    int lstm97_sig_max_lanes()
    void lstm97_set_isa(int level)
    int lstm97_get_isa()
    int lstm97_cpu_isa()
    void lstm97_set_batch_lanes(int on)
    int lstm97_batch_lanes(const lstm97_dims *d)
    int64_t lstm97_tape_len(const lstm97_dims *d, int64_t T)
    int lstm97_gradient_f64(const lstm97_dims *d, const double *params, const double *masks,
                            const double *x, const double *t, const uint8_t *tmask,
                            int64_t T, int truncated, double *y, double *grad,
                            double *loss, double *tape)
    int lstm97_train_batch_f64(const lstm97_dims *d, double *params, const double *masks,
                               const double *x, const double *t, const uint8_t *tmask,
                               int64_t N, int64_t T, double alpha, int schedule,
                               int n_threads, double *y, double *state, double *work,
                               double *dW)

    int lstm97_reset_f32(const lstm97_dims *d, float *state)
    int lstm97_step_f32(const lstm97_dims *d, float *params, const float *masks,
                        const float *x_t, const float *t_t, double alpha, int mode,
                        float *y_t, float *state, float *work, float *dW)
    int lstm97_forward_f32(const lstm97_dims *d, const float *params,
                           const float *x, int64_t T, float *y,
                           float *state, float *work)
    int lstm97_train_f32(const lstm97_dims *d, float *params, const float *masks,
                         const float *x, const float *t, const uint8_t *tmask, int64_t T,
                         double alpha, int schedule, float *y,
                         float *state, float *work, float *dW)
    int lstm97_train_onehot_f32(const lstm97_dims *d, float *params, const float *masks,
                                const int32_t *idx, const float *t, const uint8_t *tmask,
                                int64_t T, double alpha, float *y, float *state, float *work)
    int lstm97_apply_f32(const lstm97_dims *d, float *params, float *dW)
    int lstm97_run_f32(const lstm97_dims *d, float *params, const float *masks,
                       const float *x, const float *t, const uint8_t *tmask, int64_t T,
                       double alpha, int mode, float *y, float *state, float *work,
                       float *dW)
    int lstm97_all_finite_f32(Py_ssize_t n, const float *v)
    int lstm97_gradient_f32(const lstm97_dims *d, const float *params, const float *masks,
                            const float *x, const float *t, const uint8_t *tmask,
                            int64_t T, int truncated, float *y, float *grad,
                            double *loss, float *tape)
    int lstm97_train_batch_f32(const lstm97_dims *d, float *params, const float *masks,
                               const float *x, const float *t, const uint8_t *tmask,
                               int64_t N, int64_t T, double alpha, int schedule,
                               int n_threads, float *y, float *state, float *work,
                               float *dW)

    int lstm97_batch_threads_f64(const lstm97_dims *d, const uint8_t *tmask, int64_t N,
                                 int64_t T, int schedule, int n_threads)
    int lstm97_batch_threads_f32(const lstm97_dims *d, const uint8_t *tmask, int64_t N,
                                 int64_t T, int schedule, int n_threads)

    # batched inference
    int lstm97_forward_batch_f64(const lstm97_dims *d, const double *params,
                                 const double *x, const int64_t *lengths, int64_t N,
                                 int64_t T, int n_threads, double *y, double *zs,
                                 double *scratch, int64_t *failed)
    int lstm97_forward_batch_f32(const lstm97_dims *d, const float *params,
                                 const float *x, const int64_t *lengths, int64_t N,
                                 int64_t T, int n_threads, float *y, float *zs,
                                 float *scratch, int64_t *failed)

# ---- fastlstm.h: library version, kept threads, building a paper net from C
cdef extern from "fastlstm.h" nogil:
    int FASTLSTM_VERSION_MAJOR, FASTLSTM_VERSION_MINOR, FASTLSTM_VERSION_PATCH
    int FASTLSTM_VERSION
    const char *FASTLSTM_VERSION_STRING
    int LSTM97_BIAS_GATES, LSTM97_BIAS_CELLS, LSTM97_BIAS_OUTPUTS, LSTM97_BIAS_ALL

    ctypedef struct lstm97_topology:
        int32_t recurrent
        int32_t input_to_output
        int32_t bias

    const char *lstm97_version()
    int lstm97_version_number()
    int lstm97_have_threads()
    int lstm97_stop_threads()
    int lstm97_n_kept_threads()
    lstm97_topology lstm97_topology_default()
    int lstm97_masks_f64(const lstm97_dims *d, const lstm97_topology *topo, double *masks)
    int lstm97_masks_f32(const lstm97_dims *d, const lstm97_topology *topo, float *masks)
    int lstm97_init_uniform_f64(const lstm97_dims *d, const double *masks, double init_range,
                                uint64_t seed, double *params)
    int lstm97_init_uniform_f32(const lstm97_dims *d, const float *masks, double init_range,
                                uint64_t seed, float *params)
    int lstm97_set_gate_bias_f64(const lstm97_dims *d, const double *masks,
                                 const double *in_gate_bias, const double *out_gate_bias,
                                 double *params)
    int lstm97_set_gate_bias_f32(const lstm97_dims *d, const float *masks,
                                 const double *in_gate_bias, const double *out_gate_bias,
                                 float *params)
