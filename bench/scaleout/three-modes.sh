#!/usr/bin/env bash
# Run it under .ci/with-postgres (it needs MLPSWEEP_TEST_POSTGRES): .ci/with-postgres bench/scaleout/three-modes.sh
# The seed study (--limit-rows 6000 --epochs 2) in three modes: local SQLite,
# River on PostgreSQL with 3 workers (one killed with SIGKILL mid-study), and
# 3 shards merged; compares every configuration's fold accuracies.
set -euo pipefail
cd "$(dirname "$0")/../.." && make -s build && B=$PWD/bin/mlpsweep
W=$(mktemp -d /tmp/three.XXXX)
ARGS="--preset seed --limit-rows 6000 --epochs 2"
$B sweep $ARGS --workers 2 --json --out $W/local > $W/local.json 2>$W/local.err
for i in 0 1 2; do $B sweep $ARGS --workers 2 --shard $i/3 --out $W/shard-$i > /dev/null 2>$W/shard-$i.err; done
$B merge $W/merged $W/shard-0 $W/shard-1 $W/shard-2 > /dev/null 2>$W/merge.err
$B report $W/merged --json > $W/merged.json 2>/dev/null
# River: enqueue, three workers, kill one while it trains.
$B sweep $ARGS --store "$MLPSWEEP_TEST_POSTGRES" --enqueue > $W/enqueue.out 2>&1
for i in 1 2 3; do
  $B worker --store "$MLPSWEEP_TEST_POSTGRES" --workers 1 --exit-when-done --rescue-after 20s --min-timeout 15s > $W/worker-$i.log 2>&1 &
  eval "w$i=$!"
done
sleep 4; kill -9 $w2; echo "killed worker 2 (pid $w2) after 4 s" > $W/killed.txt
t0=$(date +%s.%N)
$B sweep $ARGS --store "$MLPSWEEP_TEST_POSTGRES" --wait --json --out $W/river > $W/river.json 2>$W/wait.err
t1=$(date +%s.%N)
wait $w1 $w3 || true
echo "workdir $W"; cat $W/enqueue.out; cat $W/killed.txt; echo "wait took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
tail -n 3 $W/worker-1.log $W/worker-3.log
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
def acc(name):
    r = json.load(open(f"{w}/{name}.json"))
    return {(c["axis"], c["value"]): c["fold_accuracies"] for c in r["configs"]}, r
L, lr = acc("local"); M, mr = acc("merged"); R, rr = acc("river")
same_m = sum(L[k] == M.get(k) for k in L); same_r = sum(L[k] == R.get(k) for k in L)
print(f"configs {len(L)}; merged shards identical: {same_m}/{len(L)}; river identical: {same_r}/{len(L)}")
print("units:", lr["units_total"], mr["units_total"], rr["units_total"])
PY
