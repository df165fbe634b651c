#!/usr/bin/env bash
# Run: bench/fusion-width.sh BIN ROUNDS LABEL:FLAGS...
# e.g. bench/fusion-width.sh bin/mlpsweep 3 unfused:--fuse=false g1024:"--group-columns 1024" default:
# The seed study's optimizer, activation and init axes (2 epochs, 2
# workers) with each set of sweep flags in turn, ROUNDS interleaved rounds:
# wall and CPU seconds and the group width line of each run, then whether
# every run's configurations equal the first's, digit for digit.
set -uo pipefail
B=$1; R=$2; shift 2
W=$(mktemp -d /tmp/fusion-width.XXXX)
ARGS="sweep --preset seed --axes optimizer,activation,init --epochs 2 --workers 2 --json"
for r in $(seq 1 $R); do
  for v in "$@"; do
    l=${v%%:*}; fl=${v#*:}
    o=$W/$l-$r
    /usr/bin/time -f "%e %U %S" -o $o.time $B $ARGS $fl --out $o > $o.json 2> $o.err
    printf "round %d %-8s wall %s cpu(u+s) %s  %s\n" $r $l "$(awk '{print $1}' $o.time)" "$(awk '{print $2+$3}' $o.time)" "$(grep -o 'fused groups[^,]*\|each unit alone' $o.err | head -1)"
  done
done
python3 - $W <<'PY'
import json,sys,glob,os
w=sys.argv[1]; ref=None
for f in sorted(glob.glob(w+'/*.json')):
    r=json.load(open(f)); d={(c['axis'],c['value']):(c['fold_accuracies'],c.get('mean_val_loss')) for c in r['configs']}
    if ref is None: ref=d; rn=f
    print(os.path.basename(f), 'identical to', os.path.basename(rn), d==ref, 'configs', len(d))
PY
echo $W
