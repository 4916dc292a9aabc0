/*
 * lstm97_impl.h -- the kernels, written once for a generic REAL.
 *
 * Included by lstm97.c once per REAL type and instruction set: REAL = double with
 * FN(x) = x##_f64 (or x##_f64base and x##_f64avx2, behind dispatching wrappers), REAL =
 * float with FN(x) = x##_f32.  LSTM97_API is the storage class of the public kernels.
 * TANH names the matching libm function; the logistic is lstm97_exp.h's.
 * Equation numbers are those of Hochreiter & Schmidhuber (1997); see docs/model.md.
 *
 * One file per concern, included in this order (each builds on the ones before; none has
 * an include guard, since this file is compiled several times):
 *   lstm97_act.h          activations, softmax, output errors, squashing functions
 *   lstm97_base.h         the dot product's order, work-buffer views, masks, peepholes
 *   lstm97_step_plain.h   one step, plain scalar reference (step_naive)
 *   lstm97_step_tuned.h   one step, tuned (step_fast), with its vector helpers
 *   lstm97_public.h       step_core and the public kernels (step, forward, run, train)
 *   lstm97_onehot.h       training on one-hot inputs given by index (lstm97_train_onehot)
 *   lstm97_gradient.h     the exact and truncated gradient by BPTT (lstm97_gradient)
 *   lstm97_batch.h        mini-batches on threads (lstm97_train_batch); it includes
 *   lstm97_lanes.h        one step of a block of 4 sequences in vector lanes
 */

#include "lstm97_act.h"
#include "lstm97_base.h"
#include "lstm97_step_plain.h"
#include "lstm97_step_tuned.h"
#include "lstm97_public.h"
#include "lstm97_onehot.h"
#include "lstm97_gradient.h"
#include "lstm97_batch.h"
