#!/bin/sh
# gencheck.sh checks that the committed assembly is exactly what
# `go generate` produces: it runs every //go:generate line of the package
# in a scratch copy of the tree (same relative paths, so the same headers)
# and diffs every file they write against the committed one.
set -eu
kernels=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$kernels")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -R "$root/_gen" "$tmp/_gen"
mkdir "$tmp/kernels"
cd "$tmp/kernels"
cat "$kernels"/*.go | sed -n 's|^//go:generate ||p' | while read -r cmd; do
	eval "$cmd"
done
status=0
for f in *; do
	if ! diff -u "$kernels/$f" "$f"; then
		echo "gencheck: kernels/$f is not what go generate produces" >&2
		status=1
	fi
done
[ "$status" = 0 ] && echo "gencheck: $(ls | wc -w) generated files up to date"
exit "$status"
