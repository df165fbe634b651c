#!/bin/sh
# The check of mlpsweep's TPE against Optuna's: 100 trials over 20 seeds
# on the 6-d Hartmann and a mixed function; prints the median regret table.
# optuna5_emulated.py runs Optuna 3.1 patched to Optuna 5's Parzen
# estimator (see its docstring), the semantics sweeps/tpe follows.
# With OPTUNA_SRC set to a checkout of github.com/optuna/optuna, also runs
# that version's TPESampler(multivariate=True) (optuna_source.py).
# Installs Debian's python3-optuna when /usr/bin/python3 lacks optuna (as
# .ci/with-postgres installs PostgreSQL). Usage, from the repository root:
#   sh bench/search/tpe_vs_optuna/run.sh [SEEDS [TRIALS [OUTDIR]]]
set -eu
seeds=${1:-20}
trials=${2:-100}
out=${3:-out/tpe_vs_optuna}
dir=$(dirname "$0")
py=/usr/bin/python3
if ! $py -c 'import optuna' 2>/dev/null; then
	echo "installing Debian's python3-optuna" >&2
	apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-optuna >&2
fi
mkdir -p "$out"
go run "./$dir" -seeds "$seeds" -trials "$trials" > "$out/ours.jsonl"
$py "$dir/optuna_tpe.py" "$seeds" "$trials" > "$out/optuna.jsonl"
$py "$dir/optuna5_emulated.py" "$seeds" "$trials" > "$out/optuna5.jsonl"
src=
if [ -n "${OPTUNA_SRC:-}" ]; then
	PYTHONPATH="$OPTUNA_SRC:$dir" $py "$dir/optuna_source.py" "$seeds" "$trials" > "$out/optuna_src.jsonl"
	src="$out/optuna_src.jsonl"
fi
go run "./$dir" -table "$out/ours.jsonl" "$out/optuna.jsonl" "$out/optuna5.jsonl" $src | tee "$out/table.md"
# One proposal after the same 40 trials: ours against Optuna 5's estimator.
$py "$dir/optuna5_proposals.py" "$out/history.json" 600 | tee -a "$out/table.md"
go run "./$dir" -proposals "$out/history.json" -seeds 6000 | tee -a "$out/table.md"
