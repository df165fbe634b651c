"""Optuna's samplers on main.go's test functions, as JSON lines.

Run by run.sh with Debian's python3-optuna (3.1.0): TPESampler with its
3.1 defaults (independent, i.e. multivariate=False), TPESampler with
multivariate=True, and RandomSampler; seeds 0..N-1, N trials each.

    /usr/bin/python3 optuna_tpe.py SEEDS TRIALS > optuna.jsonl
"""

import json
import math
import sys
import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
P = [
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
]


def hartmann6(trial):
    x = [trial.suggest_float(f"x{j}", 0.0, 1.0) for j in range(6)]
    y = 0.0
    for i in range(4):
        s = sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))
        y -= ALPHA[i] * math.exp(-s)
    return y


def mixed(trial):
    # The same function as main.go's mixed: minimum 0.
    pen_opt = [0.5, 0.3, 0.0, 0.4]
    shift = [-2.0, 3.0, 1.0, 0.0]
    pen_act = [0.0, 0.2, 0.35]
    opt = trial.suggest_categorical("opt", [0, 1, 2, 3])
    act = trial.suggest_categorical("act", [0, 1, 2])
    x1 = trial.suggest_float("x1", -5.0, 5.0)
    x2 = trial.suggest_float("x2", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
    units = trial.suggest_int("units", 1, 64)
    l = math.log10(lr) + 3
    u = (units - 20) / 32
    return pen_opt[opt] + pen_act[act] + ((x1 - shift[opt]) ** 2 + (x2 + 2) ** 2) / 25 + l * l / 4 + u * u


SAMPLERS = {
    "optuna-tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "optuna-tpe-multivariate": lambda seed: optuna.samplers.TPESampler(seed=seed, multivariate=True),
    "optuna-random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
}


def main():
    seeds, trials = int(sys.argv[1]), int(sys.argv[2])
    print(f"optuna {optuna.__version__}", file=sys.stderr)
    for name, fn in (("hartmann6", hartmann6), ("mixed", mixed)):
        for sampler, make in SAMPLERS.items():
            for seed in range(seeds):
                study = optuna.create_study(sampler=make(seed))
                study.optimize(fn, n_trials=trials)
                rec = {"function": name, "sampler": sampler, "seed": seed, "best": study.best_value}
                print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
