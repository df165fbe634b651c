# Reads `benchstat -format csv BASELINE NEW` and lists, once per benchmark,
# the statistically significant changes (benchstat's p < 0.05) of at least
# `threshold` percent, split into regressions and improvements.
# Units ending in "/s" or holding "%" (GFLOP/s, samples/s, %peak) are better
# higher; all others (sec/op, B/op, allocs/op) are better lower.
# Usage: benchstat -format csv OLD NEW | awk -v threshold=5 -f regressions.awk
BEGIN { FS = ","; threshold += 0 }
/^pkg: / { pkg = substr($0, 6); sub(/.*\//, "", pkg); next }
/^,.*,vs base,P$/ { unit = $2; next } # second header row names the unit
/^,/ || NF < 7 || $1 == "geomean" { next }
{
	key = pkg " " $1
	if (!(key in seen)) { seen[key] = 1; order[++n] = key }
	if ($6 !~ /%$/) next # "~": no significant change; "?": missing on one side
	delta = $6; sub(/%$/, "", delta); delta += 0
	better = (unit ~ /\/s$/ || unit ~ /%/) ? delta : -delta
	if (better > -threshold && better < threshold) next
	change[key] = change[key] sprintf("  %s %s", unit, $6)
	if (better < 0) worse[key] = 1
}
END {
	for (i = 1; i <= n; i++) {
		key = order[i]
		if (!(key in change)) { same++; continue }
		if (key in worse) { regressions++; kind = "REGRESSION " } else { improvements++; kind = "improvement" }
		printf "  %s  %-50s%s\n", kind, key, change[key]
	}
	printf "%d regressions, %d improvements, %d benchmarks within %g%% or not significant\n", regressions, improvements, same, threshold
}
