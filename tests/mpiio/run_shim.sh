#!/usr/bin/env bash
# run_shim.sh PDM MPIEXEC NRANKS [--preload LIB] PROGRAM [ARGS...] -- [MPIEXEC FLAGS...]
# Makes a fresh 4-volume pdm file system in a temporary directory, runs
# PROGRAM WORKDIR ARGS... under MPIEXEC -n NRANKS with PDM_FS naming it (and
# LD_PRELOAD=LIB with --preload), then checks the file system with fsck.
# PROGRAM gets WORKDIR (a plain directory for pass-through files) as its first
# argument; PDM_CHECK, if set, is run afterwards as `$PDM_CHECK PDM FS WORKDIR`.
set -euo pipefail
pdm=$1 mpiexec=$2 ranks=$3
shift 3
preload=()
if [[ "$1" == --preload ]]; then
  # In a sanitizer build the shim needs AddressSanitizer's runtime, which
  # must come first in the library list: it is preloaded before the shim.
  asan=$(ldd "$2" 2>/dev/null | awk '/libasan/ {print $3}')
  preload=(-x "LD_PRELOAD=${asan:+$asan:}$2")
  shift 2
fi
program=()
while (($#)) && [[ "$1" != -- ]]; do program+=("$1"); shift; done
(($#)) && shift
work=$(mktemp -d "${TMPDIR:-/tmp}/pdm-mpiio-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$pdm" mkfs "$work/fs.conf" --volume "$work/v0" --volume "$work/v1" --volume "$work/v2" \
  --volume "$work/v3" > /dev/null
mkdir "$work/plain"
PDM_FS="$work/fs.conf" timeout -k 5 200 "$mpiexec" "$@" -x PDM_FS "${preload[@]}" -n "$ranks" \
  "${program[0]}" "$work/plain" "${program[@]:1}"
if [[ -n "${PDM_CHECK:-}" ]]; then
  $PDM_CHECK "$pdm" "$work/fs.conf" "$work/plain"
fi
"$pdm" fsck --fs "$work/fs.conf" > /dev/null
