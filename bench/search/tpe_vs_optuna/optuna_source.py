"""Optuna's TPESampler(multivariate=True) from a source checkout, on
main.go's test functions, as JSON lines: Debian has only Optuna 3.1, and
the estimator changed since (Optuna 3.5 fixed the truncated normal's
density, Optuna 5 replaced Scott's bandwidths by neighbour gaps and made
multivariate the default). run.sh runs it when OPTUNA_SRC names a
checkout of github.com/optuna/optuna (Optuna's own dependencies come from
Debian's python3-optuna):

    PYTHONPATH=OPTUNA_SRC /usr/bin/python3 optuna_source.py SEEDS TRIALS > optuna_src.jsonl

The sampler is named optuna-VERSION-multivariate.
"""

import json
import sys
import warnings

import optuna

import optuna_tpe

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore")


def main():
    seeds, trials = int(sys.argv[1]), int(sys.argv[2])
    print(f"optuna {optuna.__version__} from {optuna.__file__}", file=sys.stderr)
    sampler = f"optuna-{optuna.__version__}-multivariate"
    for name, fn in (("hartmann6", optuna_tpe.hartmann6), ("mixed", optuna_tpe.mixed)):
        for seed in range(seeds):
            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
            study.optimize(fn, n_trials=trials)
            print(json.dumps({"function": name, "sampler": sampler, "seed": seed, "best": study.best_value}), flush=True)


if __name__ == "__main__":
    main()
