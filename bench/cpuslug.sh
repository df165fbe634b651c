#!/bin/sh
# Prints a file-name slug naming this machine's CPU, for bench/baseline/:
# the model name with the CPU family and model numbers (VMs often show a
# generic model name), lower-case, e.g. "amd-epyc-family25-model1".
if [ -r /proc/cpuinfo ]; then
	field() { sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -n 1; }
	cpu="$(field 'model name') family$(field 'cpu family') model$(field model)"
else
	cpu=$(sysctl -n machdep.cpu.brand_string 2>/dev/null || uname -m)
fi
printf '%s\n' "$cpu" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9][^a-z0-9]*/-/g; s/^-//; s/-$//'
