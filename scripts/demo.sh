#!/usr/bin/env bash
# The pdm demo: builds pdm (scripts/setup.sh), makes a file system of 4
# volumes under a temporary directory, writes a set of generated files in
# parallel with 4 ranks, reads them back on other ranks, verifies their
# checksums and shows what landed where. Then an unmodified parallel HDF5
# program writes and reads an HDF5 file on pdm through the MPI-IO shim
# (the test program tests/mpiio/mpiio_hdf5), and the file is copied out with
# `pdm get` and read by h5dump. Then HSM: pdm-hsm adds an HDF5 archive,
# migrates and releases the files over 1 MiB with 4 ranks ('pdm df' before
# and after), and 'pdm get' reads released files back (recalled
# transparently) and their checksums are compared with copies taken before.
# Last, the HDF5 file the parallel HDF5 program wrote through the shim is
# migrated and released, and the same program reads it back through the
# shim with 4 ranks: the shim's recall agent brings it back transparently
# (once, although every rank reads it); the program verifies every value and
# 'pdm get' gives the same bytes as before the migration.
# Everything is removed at the end (set PDM_DEMO_KEEP=1 to keep it).
#
#   scripts/demo.sh [--no-build] [--help]
#
# --no-build: use the build in PDM_BUILD_DIR (default build) as it is (the
# ctest 'demo' runs it so in CI, after the build).
set -euo pipefail
setup=()
case "${1:-}" in
  --help | -h)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
    exit 0
    ;;
  --no-build) setup=(--no-build) ;;
  "") ;;
  *)
    echo "demo.sh: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh "${setup[@]}"
eval "$(bash scripts/test.sh --env)"
build=${PDM_BUILD_DIR:-build}
pdm=$build/apps/pdm/pdm
demo=$build/apps/demo/pdm-demo
hsm=$build/apps/hsm/pdm-hsm

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
  sha256sum <"$work/shim.h5" >"$work/shim.h5.sum"
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
echo
echo "== pdm-hsm: an HDF5 archive for cold files"
mkdir "$work/archive"
if "$hsm" --help | grep -qE '^ +archive '; then
  "$hsm" archive add a1 --type hdf5 --path "$work/archive" --fs "$fs"
else  # the line 'pdm-hsm archive add' writes
  touch "$work/archive/pdm-hsm-hdf5"
  printf '[hsm]\narchive = a1 hdf5 %s\n' "$work/archive" >>"$fs"
fi
policy='size > 1M and path ~ "/demo/**"'
echo
echo "== pdm-hsm migrate --dry-run: what '$policy' selects (last lines)"
mpiexec -n 4 "$hsm" migrate --fs "$fs" --policy "$policy" --dry-run | tail -n 4
picks=$(mpiexec -n 1 "$hsm" migrate --fs "$fs" --policy "$policy" --dry-run |
  awk '$1 == "resident" && n < 4 {print $NF; n++}')
mkdir "$work/before" "$work/after"
for f in $picks; do "$pdm" get --fs "$fs" "$f" "$work/before/"; done
echo
echo "== pdm df before"
"$pdm" df --fs "$fs"
echo
echo "== mpiexec -n 4 pdm-hsm migrate --release: copy to the archive, then free the space"
mpiexec -n 4 "$hsm" migrate --fs "$fs" --policy "$policy" --release
echo
echo "== pdm df after"
"$pdm" df --fs "$fs"
echo
echo "== pdm-hsm status /demo (first lines and the counts)"
"$hsm" status --fs "$fs" /demo | sed -n '1,4p;$p'
echo
echo "== pdm get of released files (recalled on the rank that reads), checksums compared"
for f in $picks; do
  mpiexec -n 2 "$pdm" get --fs "$fs" "$f" "$work/after/"
  name=$(basename "$f")
  if cmp -s "$work/before/$name" "$work/after/$name"; then
    echo "$f: identical ($(sha256sum <"$work/after/$name" | cut -c1-16)...)"
  else
    echo "$f: DIFFERS" >&2
    exit 1
  fi
done
"$hsm" status --fs "$fs" /demo | tail -n 1
"$pdm" df --fs "$fs"
echo
if [[ -x "$h5" ]]; then
  echo "== the MPI-IO shim recalls: migrate and release /shim.h5 (written through the shim above)"
  mpiexec -n 4 "$hsm" migrate --fs "$fs" --policy 'path ~ "/shim.h5"' --release | tail -n 1
  "$hsm" status --fs "$fs" /shim.h5 | sed -n 2p
  echo "== 4 ranks read the released /shim.h5 with parallel HDF5 through the shim, verify every value"
  PDM_FS=$fs PDM_MPIIO_VERBOSE=1 mpiexec -x PDM_FS -x PDM_MPIIO_VERBOSE -n 4 "$h5" "$work/plain" \
    read 2>"$work/agents.err"
  sed -n 's/^pdm-mpiio: //p' "$work/agents.err" | sort
  "$hsm" status --fs "$fs" /shim.h5 | sed -n 2p
  rm "$work/shim.h5"
  "$pdm" get --fs "$fs" /shim.h5 "$work/shim.h5"
  if sha256sum <"$work/shim.h5" | cmp -s - "$work/shim.h5.sum"; then
    echo "/shim.h5: identical to the copy taken before the migration ($(cut -c1-16 "$work/shim.h5.sum")...)"
  else
    echo "/shim.h5: DIFFERS from the copy taken before the migration" >&2
    exit 1
  fi
fi
