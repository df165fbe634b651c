"""Optuna's samplers on main.go's test functions, as JSON lines.

Run by run.sh with Debian's python3-optuna (3.1.0): TPESampler with its
3.1 defaults (independent, i.e. multivariate=False), TPESampler with
multivariate=True, and RandomSampler; seeds 0..N-1, N trials each; all
functions and samplers, or those named (comma-separated).

    /usr/bin/python3 optuna_tpe.py SEEDS TRIALS [FUNCTIONS [SAMPLERS]] > optuna.jsonl
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


def hartmann(a, p, x):
    y = 0.0
    for i in range(4):
        s = sum(a[i][j] * (x[j] - p[i][j] * 1e-4) ** 2 for j in range(len(x)))
        y -= ALPHA[i] * math.exp(-s)
    return y


def hartmann6(trial):
    return hartmann(A, P, [trial.suggest_float(f"x{j}", 0.0, 1.0) for j in range(6)])


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


def hartmann3(trial):
    # Hartmann 3-d on [0, 1]^3, minimum -3.86278.
    a = [[3, 10, 30], [0.1, 10, 35], [3, 10, 30], [0.1, 10, 35]]
    p = [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
    return hartmann(a, p, [trial.suggest_float(f"x{j}", 0.0, 1.0) for j in range(3)])


def branin(trial):
    # Branin on [-5, 10] x [0, 15], minimum 0.397887.
    x0 = trial.suggest_float("x0", -5.0, 10.0)
    x1 = trial.suggest_float("x1", 0.0, 15.0)
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x1 - b * x0**2 + c * x0 - 6) ** 2 + 10 * (1 - t) * math.cos(x0) + 10


def func2c(trial):
    # CoCaBO's Func2C (Ru et al. 2020), without its 1e-6 noise: h1 of 3 and
    # h2 of 5 choices each add Rosenbrock/300, six-hump camel/10 or
    # Beale/50 (h2 2 to 4) at 2x, x in [-1, 1]^2; minimum 2 * -1.0316285/10.
    h = [trial.suggest_categorical("h1", [0, 1, 2]), trial.suggest_categorical("h2", [0, 1, 2, 3, 4])]
    x1 = 2 * trial.suggest_float("x1", -1.0, 1.0)
    x2 = 2 * trial.suggest_float("x2", -1.0, 1.0)
    f = 0.0
    for k in h:
        if k == 0:
            f += (100 * (x2 - x1**2) ** 2 + (x1 - 1) ** 2) / 300
        elif k == 1:
            f += ((4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2) / 10
        else:
            f += ((1.5 - x1 + x1 * x2) ** 2 + (2.25 - x1 + x1 * x2**2) ** 2 + (2.625 - x1 + x1 * x2**3) ** 2) / 50
    return f


FUNCTIONS = {"hartmann6": hartmann6, "mixed": mixed, "hartmann3": hartmann3, "branin": branin, "func2c": func2c}

SAMPLERS = {
    "optuna-tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "optuna-tpe-multivariate": lambda seed: optuna.samplers.TPESampler(seed=seed, multivariate=True),
    "optuna-random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
}


def main():
    seeds, trials = int(sys.argv[1]), int(sys.argv[2])
    fns = sys.argv[3].split(",") if len(sys.argv) > 3 else list(FUNCTIONS)
    samplers = sys.argv[4].split(",") if len(sys.argv) > 4 else list(SAMPLERS)
    print(f"optuna {optuna.__version__}", file=sys.stderr)
    for name in fns:
        fn = FUNCTIONS[name]
        for sampler in samplers:
            make = SAMPLERS[sampler]
            for seed in range(seeds):
                study = optuna.create_study(sampler=make(seed))
                study.optimize(fn, n_trials=trials)
                rec = {"function": name, "sampler": sampler, "seed": seed, "best": study.best_value}
                print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
