#!/usr/bin/env bash
# run_jobs_with_fs.sh PDM MPIEXEC NRANKS PROGRAM [MPIEXEC FLAGS...]: makes a
# fresh 4-volume file system, runs PROGRAM FS_CONFIG 1 and then, as a second
# job on the same file system, PROGRAM FS_CONFIG 2 under MPIEXEC -n NRANKS,
# then checks the file system with fsck. For what must outlive a job.
set -euo pipefail
pdm=$1 mpiexec=$2 ranks=$3 program=$4
shift 4
work=$(mktemp -d "${TMPDIR:-/tmp}/pdm-dmapi-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$pdm" mkfs "$work/fs.conf" --volume "$work/v0" --volume "$work/v1" --volume "$work/v2" \
  --volume "$work/v3" > /dev/null
for phase in 1 2; do
  timeout -k 5 100 "$mpiexec" "$@" -n "$ranks" "$program" "$work/fs.conf" "$phase"
done
"$pdm" fsck --fs "$work/fs.conf" > /dev/null
