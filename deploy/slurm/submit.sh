#!/bin/sh
# Submits a study as a Slurm job array and its merge, which starts once
# every array task has succeeded:
#   SCRATCH=/shared/me/seed deploy/slurm/submit.sh examples/seed.yaml --limit-rows 6000
# Extra sbatch options for the array go in SBATCH_ARRAY_OPTS, e.g.
#   SBATCH_ARRAY_OPTS=--array=0-3 deploy/slurm/submit.sh ...
set -eu
here=$(dirname "$0")
: "${SCRATCH:?set SCRATCH to a shared folder for the shards}"
export SCRATCH
# shellcheck disable=SC2086 # SBATCH_ARRAY_OPTS is a list of options
array=$(sbatch --parsable ${SBATCH_ARRAY_OPTS:-} "$here/sweep-array.sbatch" "$@")
array=${array%%;*} # "JOBID;CLUSTER" on multi-cluster sites
# With MLPSWEEP_STORE set the shards store into that PostgreSQL database,
# which may hold other studies: the merge names this one (a study file's
# name:, or the preset's name).
study=
if [ -n "${MLPSWEEP_STORE:-}" ]; then
	case ${1:-} in
	--preset) study=${2:-} ;;
	--preset=*) study=${1#--preset=} ;;
	*) study=$(sed -n 's/^name:[[:space:]]*//p' "$1" | sed 's/[[:space:]]*#.*//; s/^"\(.*\)"$/\1/; s/^'"'"'\(.*\)'"'"'$/\1/' | head -n 1) ;;
	esac
fi
merge=$(sbatch --parsable --dependency="afterok:$array" "$here/merge.sbatch" ${study:+--study "$study"})
echo "array job $array, merge job $merge (after every task succeeded); results in $SCRATCH/merged"
