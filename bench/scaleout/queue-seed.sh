#!/usr/bin/env bash
# Run: LOCAL=/abs/path/local.json .ci/with-postgres bench/scaleout/queue-seed.sh
# The whole seed study in queue mode: enqueue, one worker process with 2
# slots until the queue is empty, then --wait --json; compares every fold
# accuracy with a local run: LOCAL=/abs/path/local.json (sweep --preset seed --json).
set -euo pipefail
cd "$(dirname "$0")/../.." && make -s build && B=$PWD/bin/mlpsweep
W=$(mktemp -d /tmp/qfull.XXXX)
$B sweep --preset seed --store "$MLPSWEEP_TEST_POSTGRES" --enqueue > $W/enqueue.out 2>&1
s=$(date +%s.%N)
$B worker --store "$MLPSWEEP_TEST_POSTGRES" --workers 2 --exit-when-done > $W/worker.log 2>&1
e=$(date +%s.%N)
$B sweep --preset seed --store "$MLPSWEEP_TEST_POSTGRES" --wait --json --out $W/out > $W/river.json 2>$W/wait.err
tail -n 1 $W/enqueue.out; grep -i 'overhead' $W/worker.log; echo "worker wall $(awk -v a="$s" -v b="$e" 'BEGIN { print b - a }') s"
python3 - $W <<'PY'
import json, sys
w=sys.argv[1]
import os; a=json.load(open(os.environ['LOCAL'])); b=json.load(open(f'{w}/river.json'))
A={(c['axis'],c['value']):c['fold_accuracies'] for c in a['configs']}; Bq={(c['axis'],c['value']):c['fold_accuracies'] for c in b['configs']}
print('configs', len(A), 'identical to the local run:', sum(A[k]==Bq.get(k) for k in A), 'units', b['units_total'])
PY
