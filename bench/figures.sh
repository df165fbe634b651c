#!/usr/bin/env bash
# Run: bench/figures.sh [ROUNDS]        (make figures; ROUNDS 5)
#      FIGURES="gemm epoch" bench/figures.sh 3   only some of them
#
# The performance figures issue 16 asks of every machine, measured here in
# one run, each a ratio taken in the same run and named with the CPU and
# the ISA path (bench/NOTES.md keeps them per CPU):
#   gemm   every step shape and the short-wide ones, ours against OpenBLAS
#          through the netlib tag (its strongest kernels: SkylakeX where the
#          CPU has AVX-512), ROUNDS rounds of both back to back per shape,
#          the median of the per-round ratios; 1024³ as % of the FMA peak
#          measured after each round (installs Debian's libopenblas-dev)
#   epoch  one epoch of 784-128-10 (BenchmarkEpoch, Adam, batch 128) as % of
#          the one-core peak its own probe measures, on the detected path
#          and on the AVX2 path (MLPSWEEP_ISA=avx2), ROUNDS rounds, medians
#   seed   the seed study (2 workers, no curves) as % of the 2-core peak
#   tune   mlpsweep tune's wall time, then a short study with its file and
#          with the table (MLPSWEEP_TUNE_FILE=none), 3 interleaved rounds:
#          CPU time and whether every result is the same
#   queue  queue mode against a local run (bench/scaleout/queue-vs-local.sh
#          on a throwaway PostgreSQL, .ci/with-postgres, which installs
#          Debian's server when missing): the median of the rounds' wall
#          ratios and whether every result is the same
# Every figure is wall clock against a peak measured in the same run: run it
# on a quiet machine (the load average is printed before and after). At the
# end it says whether this CPU has a bench-check baseline yet.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-5}
FIGURES=${FIGURES:-gemm epoch seed tune queue}
W=$(mktemp -d /tmp/figures.XXXX)
B=$PWD/bin/mlpsweep
make -s build
has() { case " $FIGURES " in *" $1 "*) return 0 ;; esac; return 1; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

echo "machine: $(sh bench/cpuslug.sh), $(nproc) CPUs; $(uptime | sed 's/.*load/load/')"
$B bench --quick 2>&1 | sed -n '1,2p'
isa=$($B bench --quick 2>&1 | sed -n 's/.*kernels ISA \([a-z0-9]*\).*/\1/p' | head -1)
echo "work in $W"

if has gemm; then
	make -s openblas
	coretype=""
	grep -qw avx512f /proc/cpuinfo && coretype=SkylakeX
	CGO_ENABLED=1 CGO_LDFLAGS=-lopenblas go test -c -tags netlib -o "$W/netlib.test" ./kernels
	go test -c -o "$W/kernels.test" ./kernels
	for r in $(seq 1 "$R"); do
		OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=$coretype "$W/netlib.test" -test.run '^$' \
			-test.bench '^BenchmarkSgemm$' -test.benchtime 0.3s >"$W/gemm-$r.txt" 2>&1
		"$W/kernels.test" -test.run '^$' -test.bench "^BenchmarkPeak/$isa\$" -test.benchtime 0.3s >"$W/peak-$r.txt" 2>&1
	done
	echo
	echo "GEMM, one thread, $isa path against OpenBLAS ($R rounds; GFLOP/s medians, ratio: median of the rounds' ratios)"
	printf '%-22s %9s %9s %7s %7s\n' shape ours openblas ratio ours%pk
	peak=$(cat "$W"/peak-*.txt | awk '/GFLOP\/s/ {for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1)}' | median)
	for s in $(awk -F'[/ -]' '/^BenchmarkSgemm\/.*\/ours/ {print $2}' "$W/gemm-1.txt"); do
		ours=$(cat "$W"/gemm-*.txt | awk -v s="$s" '$1 ~ "^BenchmarkSgemm/"s"/ours" {for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1)}')
		blas=$(cat "$W"/gemm-*.txt | awk -v s="$s" '$1 ~ "^BenchmarkSgemm/"s"/openblas" {for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1)}')
		ratio=$(paste <(echo "$ours") <(echo "$blas") | awk '$2 > 0 {print $1 / $2}' | median)
		o=$(echo "$ours" | median)
		printf '%-22s %9.1f %9.1f %7.3f %6.1f%%\n' "$s" "$o" "$(echo "$blas" | median)" "$ratio" "$(echo "$o $peak" | awk '{print 100 * $1 / $2}')"
	done
	echo "FMA peak (BenchmarkPeak/$isa, median of the rounds): $peak GFLOP/s"
fi

if has epoch; then
	go test -c -o "$W/bench.test" ./bench
	echo
	echo "One epoch, 784-128-10, Adam, batch 128, 45,000 rows, one thread (% of the peak its probe measures; $R rounds)"
	for path in "$isa" avx2; do
		for r in $(seq 1 "$R"); do
			MLPSWEEP_ISA=$path "$W/bench.test" -test.run '^$' -test.bench 'BenchmarkEpoch$/784-128-10/b128$' \
				-test.benchtime 8x 2>/dev/null | awk '/^BenchmarkEpoch/ {for (i = 1; i <= NF; i++) if ($i == "%peak") print $(i-1)}'
		done >"$W/epoch-$path.txt"
		printf '  %-7s median %s %% (rounds: %s)\n' "$path" "$(median <"$W/epoch-$path.txt")" "$(paste -sd' ' "$W/epoch-$path.txt")"
		[ "$path" = avx2 ] || [ "$isa" != avx2 ] || break
	done
fi

if has seed; then
	echo
	echo "Seed study, 2 workers, no curves (sweep --preset seed --workers 2 --json):"
	$B sweep --preset seed --workers 2 --json --out "$W/seed" 2>/dev/null >"$W/seed.json"
	python3 - "$W/seed.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"  {d['total_seconds']:.1f} s, {d['gflop']:.0f} GFLOP, {d['gflops']:.1f} GFLOP/s = {d['percent_of_peak']:.1f} % of the "
      f"{d['peak_gflops']:.1f} GFLOP/s 2-core peak; engine {d['engine']}, blocks {d['blocks']}")
PY
fi

if has tune; then
	echo
	start=$(date +%s.%N)
	$B tune --file "$W/tuned.json" >"$W/tune.txt" 2>&1
	echo "mlpsweep tune: $(echo "$(date +%s.%N) - $start" | bc | cut -c1-5) s, wrote $W/tuned.json"
	args="--preset seed --axes optimizer,activation --epochs 2 --limit-rows 6000 --workers 2 --json"
	for r in 1 2 3; do
		for v in tuned table; do
			f=$W/tuned.json
			[ $v = table ] && f=none
			rm -rf "$W/t-$v"
			MLPSWEEP_TUNE_FILE=$f /usr/bin/time -f "%U %S" -o "$W/t-$v.time" $B sweep $args --out "$W/t-$v" 2>/dev/null >"$W/t-$v-$r.json"
			echo "$(awk '{print $1 + $2}' "$W/t-$v.time")" >>"$W/t-$v.cpu"
		done
	done
	python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
cpu = {v: [float(x) for x in open(f"{w}/t-{v}.cpu")] for v in ("tuned", "table")}
res = lambda v, r: [(c["fold_accuracies"], c["mean_val_loss"]) for c in json.load(open(f"{w}/t-{v}-{r}.json"))["configs"]]
same = all(res(v, r) == res("table", 1) for v in ("tuned", "table") for r in (1, 2, 3))
blocks = json.load(open(f"{w}/t-tuned-1.json"))["blocks"]
print(f"  study with the tuned file ({blocks}): CPU {sorted(cpu['tuned'])[1]:.2f} s, with the table: {sorted(cpu['table'])[1]:.2f} s "
      f"(medians of 3); results identical in all 6 runs: {same}")
PY
fi
if has queue; then
	echo
	echo "Queue mode (2 worker slots) against a local run (2 workers), seed study --limit-rows 6000 --epochs 2, $R rounds:"
	.ci/with-postgres bench/scaleout/queue-vs-local.sh "$R" >"$W/queue.txt" 2>&1
	grep -o 'queue/local wall [0-9.]*' "$W/queue.txt" | awk '{print $3}' >"$W/queue-ratios.txt"
	echo "  queue/local wall: median $(median <"$W/queue-ratios.txt") (rounds: $(paste -sd' ' "$W/queue-ratios.txt"))"
	echo "  results: $(grep -c 'configs identical' "$W/queue.txt") runs, $(grep 'configs identical' "$W/queue.txt" | awk '{split($2, a, "/"); if (a[1] != a[2]) bad++} END {print bad + 0}') with a configuration unlike local-1's (full output: $W/queue.txt)"
fi
echo
echo "machine afterwards: $(uptime | sed 's/.*load/load/')"
if [ ! -f "bench/baseline/$(sh bench/cpuslug.sh).txt" ]; then
	echo "No bench-check baseline for this CPU yet: make bench && make bench-baseline, then commit bench/baseline/$(sh bench/cpuslug.sh).txt"
fi
