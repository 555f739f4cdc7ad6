#!/usr/bin/env bash
# run_with_fs.sh PDM MPIEXEC NRANKS PROGRAM [MPIEXEC FLAGS...]: makes a fresh
# 4-volume file system in a temporary directory, runs PROGRAM FS_CONFIG under
# MPIEXEC -n NRANKS, then checks the file system with fsck.
set -euo pipefail
pdm=$1 mpiexec=$2 ranks=$3 program=$4
shift 4
work=$(mktemp -d "${TMPDIR:-/tmp}/pdm-dmapi-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$pdm" mkfs "$work/fs.conf" --volume "$work/v0" --volume "$work/v1" --volume "$work/v2" \
  --volume "$work/v3" > /dev/null
timeout -k 5 100 "$mpiexec" "$@" -n "$ranks" "$program" "$work/fs.conf"
"$pdm" fsck --fs "$work/fs.conf" > /dev/null
