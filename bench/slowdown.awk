# Rewrites a `go test -bench` result file as if every benchmark ran
# `factor` times slower: times (ns/…) multiplied, rates (…/s, %peak)
# divided; counts such as B/op and allocs/op kept. bench-check's self-test
# uses it to inject a slowdown.
# Usage: awk -v factor=1.2 -f slowdown.awk results.txt
BEGIN { factor += 0; if (factor <= 0) factor = 1.2 }
!/^Benchmark/ { print; next }
{
	line = $1 "\t" $2
	for (i = 3; i + 1 <= NF; i += 2) {
		v = $i; u = $(i + 1)
		if (u ~ /^ns\//) v = v * factor
		else if (u ~ /\/s$/ || u ~ /%/) v = v / factor
		line = line "\t" sprintf("%.6g", v) " " u
	}
	print line
}
