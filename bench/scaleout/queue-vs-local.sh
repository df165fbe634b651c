#!/usr/bin/env bash
# Run: [EXTRA="--group-columns 512"] .ci/with-postgres bench/scaleout/queue-vs-local.sh [ROUNDS]
# The seed study (--limit-rows 6000 --epochs 2) locally on 2 workers and in
# queue mode (one worker process with 2 slots, started beforehand and
# waiting, as a deployed worker does; the timed command is
# sweep --enqueue --wait), interleaved, ROUNDS rounds (3), each queue round
# on a fresh database. Prints wall and CPU seconds (the queue's CPU is the
# sweep command's plus the worker's), the jobs enqueued, and whether every
# configuration's fold accuracies and mean held-out loss equal the first
# local run's.
set -euo pipefail
cd "$(dirname "$0")/../.." && make -s build && B=$PWD/bin/mlpsweep
R=${1:-3}
W=$(mktemp -d /tmp/qvl.XXXX)
ARGS="--preset seed --limit-rows 6000 --epochs 2 --workers 2 ${EXTRA:-}"
base=${MLPSWEEP_TEST_POSTGRES%/*}
for r in $(seq 1 "$R"); do
	/usr/bin/time -f "%e %U %S" -o $W/local-$r.time $B sweep $ARGS --json --out $W/local-$r > $W/local-$r.json 2> $W/local-$r.err
	psql -q "$MLPSWEEP_TEST_POSTGRES" -c "CREATE DATABASE qvl_$r"
	url=$base/qvl_$r
	/usr/bin/time -f "%e %U %S" -o $W/worker-$r.time $B worker --store "$url" --workers 2 > $W/worker-$r.log 2>&1 &
	wpid=$!
	for _ in $(seq 300); do grep -q "^worker.*: 2 at once" $W/worker-$r.log 2>/dev/null && break; sleep 0.2; done
	grep -q "^worker.*: 2 at once" $W/worker-$r.log || { echo "the worker did not say it started within 60 s:" >&2; cat $W/worker-$r.log >&2; exit 1; }
	/usr/bin/time -f "%e %U %S" -o $W/queue-$r.time $B sweep $ARGS --store "$url" --enqueue --wait --json --out $W/queue-$r > $W/queue-$r.json 2> $W/queue-$r.err
	pkill -TERM -P $wpid; wait $wpid || true # the worker, child of time
	lw=$(awk '{print $1}' $W/local-$r.time); lc=$(awk '{print $2+$3}' $W/local-$r.time)
	qw=$(awk '{print $1}' $W/queue-$r.time); qc=$(awk '{print $2+$3}' $W/queue-$r.time $W/worker-$r.time | paste -sd+ | bc)
	printf 'round %d: local wall %5.2f s cpu %5.2f s (%s) | queue wall %5.2f s cpu %5.2f s (%s) | queue/local wall %.3f\n' \
		"$r" "$lw" "$lc" "$(grep -o 'fused groups of up to [0-9]* first-layer columns ([a-z-]*)' $W/local-$r.err)" \
		"$qw" "$qc" "$(grep -o '^[0-9]* jobs: .*' $W/queue-$r.err)" "$(echo "$qw / $lw" | bc -l)"
done
python3 - "$W" "$R" <<'PY'
import json, sys
w, R = sys.argv[1], int(sys.argv[2])
def res(name):
    r = json.load(open(f"{w}/{name}.json"))
    return {(c["axis"], c["value"]): (c["fold_accuracies"], c["mean_val_loss"]) for c in r["configs"]}, r["units_total"]
ref, n = res("local-1")
for name in [f"{m}-{r}" for r in range(1, R + 1) for m in ("local", "queue")]:
    d, units = res(name)
    print(f"{name}: {sum(d.get(k) == v for k, v in ref.items())}/{len(ref)} configs identical to local-1 ({units} units)")
PY
grep -h "queue overhead" $W/worker-*.log || true
echo "workdir $W"
