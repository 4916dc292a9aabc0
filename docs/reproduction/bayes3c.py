"""The error no net can avoid in Exp. 3c, under each reading of its inputs.

Prints, for N = 1 and N = 3 and for the two readings of 3c's inputs (the first N inputs
+-1 plus Gaussian noise of variance 0.2 as in 3b, the protocol's reading; or exactly +-1
as in 3a, the ablation ``noise-free-signal``):

* the Bayes error: the fraction of sequences that no classifier can get right (the sign
  of the sum S of the first N inputs opposite to the class);
* the misclassified fraction and the mean |output - noise-free target| of the output
  that minimises the mean squared error, the conditional expectation of the noisy target,
  which is what a net trained on it approaches (misclassified: more than 0.1 from the
  noise-free target 0.2 / 0.8);
* the probability that a set of 256 sequences holds no sequence that the Bayes
  classifier (or the MSE-optimal output) gets wrong: the chance that the stop rule "no
  test sequence misclassified" can hold on one set.

Given S, the later inputs are noise of the same law for both classes, so S is
sufficient: with variance 0.2 N around +N (class 1) or -N (class 2) the log odds of
class 1 are 2 S / 0.2 = 10 S, and the conditional expectation of the target is
0.8 - 0.6 P(class 1 | S).  Under the noise-free reading S = +-N exactly and the
conditional expectation is the noise-free target itself.

Run: ``python docs/reproduction/bayes3c.py`` (numpy only; quadrature on a fine grid).
``python docs/reproduction/bayes3c.py --fixed-sets`` also counts, for the 10 trials of the
rows 3c-T100-N1 and 3c-T100-N3, the Bayes-unavoidable sequences of the test set that the
ablation ``fixed-test-set`` draws for the trial (the same draws as the trial, no training).
"""
from __future__ import annotations

import math
import sys

import numpy as np

VAR = 0.2          # input noise variance
LO, HI = 0.2, 0.8  # noise-free targets of class 1, class 2
TOL = 0.1          # misclassified: |output - noise-free target| > TOL


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def noisy_reading(N: int) -> dict:
    """The figures of the noisy-signal reading for ``N`` information-carrying inputs."""
    sd = math.sqrt(VAR * N)
    bayes = _phi(-N / sd)
    # class 1 (the other is its mirror image): S ~ normal(N, VAR N)
    s = np.linspace(N - 12 * sd, N + 12 * sd, 400_001)
    dens = np.exp(-0.5 * ((s - N) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    p1 = 1.0 / (1.0 + np.exp(-2.0 * s / VAR))              # P(class 1 | S)
    out = HI - (HI - LO) * p1                               # E[target | S]
    dev = np.abs(out - LO)
    mis = float(np.trapezoid(dens * (dev > TOL), s))
    mean_dev = float(np.trapezoid(dens * dev, s))
    return {"bayes": bayes, "mse_opt_mis": mis, "mse_opt_mean_dev": mean_dev,
            "clean_set_bayes": (1 - bayes) ** 256, "clean_set_mse_opt": (1 - mis) ** 256}


def main() -> None:
    print("reading       N  Bayes error   MSE-optimal: misclassified  mean|dev|   "
          "P(256-set clean): Bayes  MSE-optimal")
    for N in (1, 3):
        r = noisy_reading(N)
        print(f"noisy signal  {N}  {r['bayes']:.5f}       {r['mse_opt_mis']:.5f}"
              f"                   {r['mse_opt_mean_dev']:.5f}     {r['clean_set_bayes']:.4f}"
              f"            {r['clean_set_mse_opt']:.2e}")
        print(f"noise-free    {N}  0             0                         0           1"
              f"                 1")


def fixed_sets() -> None:
    """Bayes-unavoidable sequences in the fixed test set of each 3c trial (N = 1, 3)."""
    from fastlstm.experiments import ROWS
    from fastlstm.experiments.protocols import _rngs, bayes_unavoidable
    from fastlstm.experiments.runner import trial_seed
    from fastlstm.tasks import get_task
    for rid in ("3c-T100-N1", "3c-T100-N3"):
        N = ROWS[rid].params["N"]
        task = get_task("noise3c", T=100, N=N)
        counts = []
        for t in range(ROWS[rid].trials):
            rng_test = _rngs(trial_seed(0, rid, t), 4)[2]
            counts.append(bayes_unavoidable([task.sample(rng_test) for _ in range(256)], N))
        print(f"{rid} --ablation fixed-test-set: unavoidable sequences in the fixed test "
              f"set of trials 0-{len(counts) - 1}: {counts}")


if __name__ == "__main__":
    main()
    if "--fixed-sets" in sys.argv[1:]:
        fixed_sets()
