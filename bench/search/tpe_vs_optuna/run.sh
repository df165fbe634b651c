#!/bin/sh
# The check of mlpsweep's TPE against Optuna's (issue 17): 100 trials over
# SEEDS seeds (100 by default; 20 is a coin toss on the mixed functions'
# bimodal outcomes) on the 6-d Hartmann and the mixed function, and on
# Branin, the 3-d Hartmann and CoCaBO's Func2C as guards; prints the
# median regret table and the check (mlpsweep-tpe at most 1.1× Optuna's
# TPESampler, both below random search), and exits 1 when it fails on
# issue 17's two functions.
#
# Optuna's runs are deterministic per seed, so they are cached in
# CACHE (out/tpe_vs_optuna/cache by default), one file per Optuna version,
# function, sampler and trial count, and rerun only when a cached file has
# fewer seeds than asked. Without a cache, Optuna 3.1's default TPE takes
# about 40 minutes for 100 seeds of the five functions on a loaded 2-core
# Zen 4 (most of it Hartmann 6-d and the mixed function), random search a
# minute, mlpsweep's ten samplers 3 to 4 minutes. Python runs under nice.
#
# Installs Debian's python3-optuna when /usr/bin/python3 lacks optuna (as
# .ci/with-postgres installs PostgreSQL). FULL=1 adds Optuna 3.1 with
# multivariate=True, Optuna 3.1 patched to Optuna 5's estimator
# (optuna5_emulated.py) and one proposal after a fixed history, ours
# against that estimator (optuna5_proposals.py); with OPTUNA_SRC set to a
# checkout of github.com/optuna/optuna, also that version's
# TPESampler(multivariate=True) (optuna_source.py). Usage, from the
# repository root:
#   sh bench/search/tpe_vs_optuna/run.sh [SEEDS [TRIALS [OUTDIR]]]
set -eu
seeds=${1:-100}
trials=${2:-100}
out=${3:-out/tpe_vs_optuna}
cache=${CACHE:-$out/cache}
dir=$(dirname "$0")
py=/usr/bin/python3
if ! $py -c 'import optuna' 2>/dev/null; then
	echo "installing Debian's python3-optuna" >&2
	apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-optuna >&2
fi
version=$($py -c 'import optuna; print(optuna.__version__)')
mkdir -p "$out" "$cache"
go run "./$dir" -seeds "$seeds" -trials "$trials" > "$out/ours.jsonl"
optuna_samplers="optuna-tpe optuna-random"
if [ -n "${FULL:-}" ]; then
	optuna_samplers="$optuna_samplers optuna-tpe-multivariate"
fi
: > "$out/optuna.jsonl"
for fn in hartmann6 mixed branin hartmann3 func2c; do
	for sampler in $optuna_samplers; do
		f="$cache/optuna-$version-$fn-$sampler-$trials.jsonl"
		if [ ! -f "$f" ] || [ "$(wc -l < "$f")" -lt "$seeds" ]; then
			echo "running Optuna $version $sampler on $fn, $seeds seeds" >&2
			nice -n 5 $py "$dir/optuna_tpe.py" "$seeds" "$trials" "$fn" "$sampler" > "$f.tmp"
			mv "$f.tmp" "$f"
		fi
		head -n "$seeds" "$f" >> "$out/optuna.jsonl"
	done
done
extra=
if [ -n "${FULL:-}" ]; then
	nice -n 5 $py "$dir/optuna5_emulated.py" "$seeds" "$trials" > "$out/optuna5.jsonl"
	extra="$out/optuna5.jsonl"
fi
if [ -n "${OPTUNA_SRC:-}" ]; then
	PYTHONPATH="$OPTUNA_SRC:$dir" nice -n 5 $py "$dir/optuna_source.py" "$seeds" "$trials" > "$out/optuna_src.jsonl"
	extra="$extra $out/optuna_src.jsonl"
fi
status=0
go run "./$dir" -table "$out/ours.jsonl" "$out/optuna.jsonl" $extra > "$out/table.md" || status=$?
cat "$out/table.md"
if [ -n "${FULL:-}" ]; then
	# One proposal after the same 40 trials: ours (prior weight 1) against Optuna 5's estimator.
	nice -n 5 $py "$dir/optuna5_proposals.py" "$out/history.json" 600 | tee -a "$out/table.md"
	go run "./$dir" -proposals "$out/history.json" -seeds 6000 | tee -a "$out/table.md"
fi
exit $status
