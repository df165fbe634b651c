#!/bin/sh
# gencheck.sh checks that the committed assembly is exactly what
# `go generate` produces: it runs every //go:generate line of the package
# in a scratch copy of the tree (same relative paths, so the same headers)
# and diffs every file they write against the committed one. Generated
# files are named *_gen_amd64.{s,go}; a committed file with a "Code
# generated" header that go generate no longer writes is reported too.
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
	case "$f" in
	*_gen_amd64.s | *_gen_amd64.go) ;;
	*)
		echo "gencheck: go generate writes $f, not named *_gen_amd64.{s,go}" >&2
		status=1
		;;
	esac
	if ! diff -u "$kernels/$f" "$f"; then
		echo "gencheck: kernels/$f is not what go generate produces" >&2
		status=1
	fi
done
for f in $(grep -l '^// Code generated .* DO NOT EDIT\.$' "$kernels"/*.go "$kernels"/*.s); do
	if [ ! -e "$(basename "$f")" ]; then
		echo "gencheck: kernels/$(basename "$f") says it is generated, but go generate does not write it" >&2
		status=1
	fi
done
[ "$status" = 0 ] && echo "gencheck: $(ls | wc -w) generated files up to date"
exit "$status"
