"""Log densities of Optuna's Parzen estimator on fixed observations and
points, the golden values of sweeps/tpe's TestParzenMatchesOptuna.

Needs Optuna's sources (Debian's 3.1 has another estimator). With a
checkout of github.com/optuna/optuna at 5.0.0.dev (1d8ce7b wrote the
file), Optuna 5's estimator (neighbour bandwidths):

    PYTHONPATH=OPTUNA_CHECKOUT /usr/bin/python3 optuna_parzen.py > sweeps/tpe/testdata/optuna5_parzen.json

at v4.9.0, its multivariate=True estimator (Scott's rule, tpe.Scott):

    PYTHONPATH=OPTUNA_CHECKOUT /usr/bin/python3 optuna_parzen.py scott > sweeps/tpe/testdata/optuna4_scott_parzen.json
"""
import json, sys
import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

SPACES = {
    "mixed": [("opt", CategoricalDistribution([0, 1, 2, 3])), ("act", CategoricalDistribution([0, 1, 2])),
              ("x1", FloatDistribution(-5, 5)), ("x2", FloatDistribution(-5, 5)),
              ("lr", FloatDistribution(1e-5, 1, log=True)), ("units", IntDistribution(1, 64))],
    "int": [("units", IntDistribution(1, 64))],
    "log": [("lr", FloatDistribution(1e-5, 1, log=True))],
    "choice": [("opt", CategoricalDistribution([0, 1, 2, 3]))],
}

def draw(rng, d):
    if isinstance(d, CategoricalDistribution):
        return int(rng.randint(len(d.choices)))
    if isinstance(d, IntDistribution):
        return int(rng.randint(d.low, d.high + 1))
    if d.log:
        return float(np.exp(rng.uniform(np.log(d.low), np.log(d.high))))
    return float(rng.uniform(d.low, d.high))

scott = sys.argv[1:] == ["scott"]
extra = {}
if "categorical_distance_func" in _ParzenEstimatorParameters._fields:  # Optuna 4
    extra["categorical_distance_func"] = {}
elif scott:
    sys.exit("Scott's rule needs Optuna 4's sources (v4.9.0)")
params = _ParzenEstimatorParameters(prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False,
                                    weights=default_weights, multivariate=scott, **extra)
rng = np.random.RandomState(7)
cases = []
for name, space in SPACES.items():
    for n in (0, 1, 2, 5, 30):
        obs = [[draw(rng, d) for _, d in space] for _ in range(n)]
        for i, (_, d) in enumerate(space):  # numpy's argsort orders ties arbitrarily: no tied ints under the weights' ramp
            if isinstance(d, IntDistribution) and n > 25:
                for o, v in zip(obs, rng.choice(np.arange(d.low, d.high + 1), n, replace=False)):
                    o[i] = int(v)
        if n == 5:  # a tie and an observation on the range's end
            obs[1] = list(obs[0])
            obs[2] = [d.choices[-1] if isinstance(d, CategoricalDistribution) else d.high for _, d in space]
        pts = [[draw(rng, d) for _, d in space] for _ in range(8)] + obs[:3]
        sp = dict(space)
        od = {k: np.asarray([float(d.to_internal_repr(o[i])) for o in obs]) for i, (k, d) in enumerate(space)}
        pe = _ParzenEstimator(od, sp, params)
        pd = {k: np.asarray([float(d.to_internal_repr(p[i])) for p in pts]) for i, (k, d) in enumerate(space)}
        lp = pe.log_pdf(pd)
        cases.append({"space": name, "obs": obs, "points": pts, "logpdf": [float(v) for v in lp]})
json.dump({"optuna": optuna.__version__, "scott": scott, "cases": cases}, sys.stdout, indent=None)
