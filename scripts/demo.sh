#!/usr/bin/env bash
# The pdm demo: builds pdm (scripts/setup.sh), makes a file system of 4
# volumes under a temporary directory, writes a set of generated files in
# parallel with 4 ranks, reads them back on other ranks, verifies their
# checksums and shows what landed where. Then an unmodified parallel HDF5
# program writes and reads an HDF5 file on pdm through the MPI-IO shim
# (the test program tests/mpiio/mpiio_hdf5), and the file is copied out with `pdm get` and read by h5dump.
# Everything is removed at the end (set PDM_DEMO_KEEP=1 to keep the file system).
#
#   scripts/demo.sh [--help]
set -euo pipefail
if [[ "${1:-}" == --help || "${1:-}" == -h ]]; then
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
  exit 0
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
eval "$(bash scripts/test.sh --env)"
build=${PDM_BUILD_DIR:-build}
pdm=$build/apps/pdm/pdm
demo=$build/apps/demo/pdm-demo

work=$(mktemp -d "${TMPDIR:-/tmp}/pdm-demo-XXXXXX")
[[ -n "${PDM_DEMO_KEEP:-}" ]] || trap 'rm -rf "$work"' EXIT
fs=$work/demo.fs

echo "== pdm mkfs: 4 volumes under $work"
"$pdm" mkfs "$fs" --volume "$work/vol0" --volume "$work/vol1" --volume "$work/vol2" \
  --volume "$work/vol3" --stripe-size 256K
echo
echo "== 4 ranks write 64 generated files, read back another rank's files, verify checksums"
mpiexec -n 4 "$demo" --fs "$fs" --files 64 --max-size 4M
echo
echo "== pdm ls -l /demo (first lines)"
"$pdm" ls -l --fs "$fs" /demo | head -n 5
echo
h5=$build/tests/mpiio/mpiio_hdf5
if [[ -x "$h5" ]]; then
  echo "== parallel HDF5 through the MPI-IO shim (libpdm-mpiio): 4 ranks write /shim.h5 (contiguous"
  echo "   and chunked datasets, collective and independent), read it back and verify it"
  mkdir -p "$work/plain"
  PDM_FS=$fs mpiexec -x PDM_FS -n 4 "$h5" "$work/plain"
  "$pdm" get --fs "$fs" /shim.h5 "$work/shim.h5"
  echo "== h5dump -H of the file copied out with pdm get (first lines)"
  h5dump -H "$work/shim.h5" | head -n 12
  echo
else
  echo "== (no $h5: build with PDM_BUILD_TESTS=ON for the parallel HDF5 part)"
fi
echo "== pdm df"
"$pdm" df --fs "$fs"
echo
echo "== pdm fsck"
"$pdm" fsck --fs "$fs"
