#!/bin/sh
# Regenerates onnx.pb.go, the Go types of the ONNX protobuf schema, from
# onnx.proto (ONNX 1.12, Apache-2.0, as Debian's python3-onnx ships it) with
# protoc (Debian's protobuf-compiler) and protoc-gen-go at the version of
# google.golang.org/protobuf in go.mod. Run from this folder.
#
# The schema's protobuf package is renamed from onnx to mlpsweep.onnx while
# generating: a Go program may register each full message name once, and
# one that also links another Go copy of the schema (gonnx, onnx-go)
# registers onnx.* from there. Package
# names are not on the wire, so the encoding is ONNX's.
set -eu
command -v protoc >/dev/null || { apt-get update && apt-get install -y protobuf-compiler; }
version=$(cd ../../../.. && go list -m -f '{{.Version}}' google.golang.org/protobuf)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOBIN=$tmp/bin go install "google.golang.org/protobuf/cmd/protoc-gen-go@$version"
mkdir "$tmp/src"
sed 's/^package onnx;$/package mlpsweep.onnx;/' onnx.proto >"$tmp/src/onnx.proto"
grep -q '^package mlpsweep.onnx;$' "$tmp/src/onnx.proto"
PATH=$tmp/bin:$PATH protoc -I "$tmp/src" --go_out=. --go_opt=paths=source_relative \
	--go_opt=Monnx.proto=github.com/mlpsweep/mlpsweep/engine/onnx/internal/onnxpb onnx.proto
