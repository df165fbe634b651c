"""Optuna 3.1's TPESampler patched to Optuna 5's Parzen estimator, to tell
what of a difference between mlpsweep's TPE (Optuna 5's semantics) and
Debian's Optuna 3.1 is the algorithm and what the version:

- the kernel width of every numeric parameter is the larger gap to its
  sorted neighbours (the range's ends as neighbours only for the outermost
  kernels' other side), multivariate too; Optuna 3.1 used Scott's rule
  0.2 · n^(-1/(d+4)) · range for multivariate, and counted the prior's mean
  among the neighbours (removed in Optuna 4, "Remove prior_mu from
  compute_sigmas");
- the truncated normal's log density has its -log(scale) term, which
  Optuna 3.1's _truncnorm.logpdf lacks (fixed in 3.5.0, "Fix logpdf for
  scaled truncnorm").

    /usr/bin/python3 optuna5_emulated.py SEEDS TRIALS > optuna5.jsonl

With a prior weight (and, optionally, functions), multivariate only and
named optuna5-emulated-priorW: Optuna 5 with TPESampler(prior_weight=W),
mlpsweep's default for W = 3:

    /usr/bin/python3 optuna5_emulated.py SEEDS TRIALS 3 mixed,hartmann6 > optuna5_prior3.jsonl
"""

import json
import sys

import numpy as np
import optuna
from optuna.samplers._tpe import _truncnorm
from optuna.samplers._tpe import parzen_estimator

import optuna_tpe

optuna.logging.set_verbosity(optuna.logging.WARNING)

_logpdf = _truncnorm.logpdf


def logpdf(x, a, b, loc=0, scale=1):
    return _logpdf(x, a, b, loc=loc, scale=scale) - np.log(scale)


def numerical_params(self, observations, param_name):
    n = self._n_observations
    low, high = self._low[param_name], self._high[param_name]
    sigmas = np.empty(0)
    if n > 0:
        order = np.argsort(observations)
        s = np.concatenate([[low], observations[order], [high]])
        sorted_sigmas = np.maximum(s[1:-1] - s[:-2], s[2:] - s[1:-1])
        if s.shape[0] >= 4:  # consider_endpoints=False
            sorted_sigmas[0] = s[2] - s[1]
            sorted_sigmas[-1] = s[-2] - s[-3]
        sigmas = np.clip(sorted_sigmas[np.argsort(order)], (high - low) / min(100.0, n + 2.0), high - low)
    return np.append(observations, 0.5 * (low + high)), np.append(sigmas, high - low)


parzen_estimator.truncnorm.logpdf = logpdf
parzen_estimator._ParzenEstimator._calculate_numerical_params = numerical_params


def main():
    seeds, trials = int(sys.argv[1]), int(sys.argv[2])
    prior = float(sys.argv[3]) if len(sys.argv) > 3 else None
    fns = sys.argv[4].split(",") if len(sys.argv) > 4 else ["hartmann6", "mixed"]
    for name in fns:
        fn = optuna_tpe.FUNCTIONS[name]
        for multivariate in (True,) if prior else (True, False):
            sampler = "optuna5-emulated" + ("" if multivariate else "-independent")
            kw = {}
            if prior:
                sampler += f"-prior{prior:g}"
                kw["prior_weight"] = prior
            for seed in range(seeds):
                study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=multivariate, **kw))
                study.optimize(fn, n_trials=trials)
                rec = {"function": name, "sampler": sampler, "seed": seed, "best": study.best_value}
                print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
