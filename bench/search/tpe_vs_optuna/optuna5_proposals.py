"""One proposal after a fixed history, many times over: the distribution
of what Optuna 5's TPE (optuna5_emulated.py) proposes on the mixed
function after 40 random trials, to set beside `go run . -proposals`.

    /usr/bin/python3 optuna5_proposals.py HISTORY.json RUNS

writes HISTORY.json (40 trials drawn with numpy's seed 1) when missing,
then prints the choice frequencies and the means of the proposals.
"""

import json
import os
import sys

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import create_trial

import optuna5_emulated  # noqa: F401  (patches Optuna 3.1 to Optuna 5's estimator)
import optuna_tpe

NAMES = ["opt", "act", "x1", "x2", "lr", "units"]
DISTS = {
    "opt": CategoricalDistribution([0, 1, 2, 3]),
    "act": CategoricalDistribution([0, 1, 2]),
    "x1": FloatDistribution(-5, 5),
    "x2": FloatDistribution(-5, 5),
    "lr": FloatDistribution(1e-5, 1, log=True),
    "units": IntDistribution(1, 64),
}


class Fixed:
    """A trial whose suggest_* return given values."""

    def __init__(self, x):
        self.p = dict(zip(NAMES, x))

    def suggest_categorical(self, name, _):
        return self.p[name]

    def suggest_float(self, name, *_, **__):
        return self.p[name]

    def suggest_int(self, name, *_, **__):
        return self.p[name]


def main():
    path, runs = sys.argv[1], int(sys.argv[2])
    if not os.path.exists(path):
        rng = np.random.RandomState(1)
        hist = [
            [int(rng.randint(4)), int(rng.randint(3)), float(rng.uniform(-5, 5)), float(rng.uniform(-5, 5)),
             float(np.exp(rng.uniform(np.log(1e-5), 0))), int(rng.randint(1, 65))]
            for _ in range(40)
        ]
        with open(path, "w") as f:
            json.dump(hist, f)
    with open(path) as f:
        hist = json.load(f)
    out = []
    for seed in range(runs):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
        for x in hist:
            study.add_trial(create_trial(params=dict(zip(NAMES, x)), distributions=DISTS, value=optuna_tpe.mixed(Fixed(x))))
        t = study.ask(DISTS)
        out.append([t.params[n] for n in NAMES])
    out = np.array(out, dtype=float)
    f = np.mean([optuna_tpe.mixed(Fixed([int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5])])) for r in out])
    print(f"optuna5-emulated, {runs} runs: opt {np.bincount(out[:, 0].astype(int), minlength=4) / runs}"
          f" act {np.bincount(out[:, 1].astype(int), minlength=3) / runs}"
          f" mean x1 {out[:, 2].mean():.3f} x2 {out[:, 3].mean():.3f} log10(lr) {np.log10(out[:, 4]).mean():.3f}"
          f" units {out[:, 5].mean():.2f} f {f:.4f}")


if __name__ == "__main__":
    main()
