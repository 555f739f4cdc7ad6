#!/usr/bin/env bash
# Scenarios mpiio_recall_posix and mpiio_recall_hdf5: transparent recall
# through the MPI-IO shim (docs/MPIIO.md, Recall). Each step is its own job:
#   1. 4 ranks write files through the shim (mpiio_recall write; with an HDF5
#      archive also the parallel HDF5 program, mpiio_hdf5 write);
#   2. mpiexec -n 4 pdm-hsm migrate --release copies them to the archive
#      (ARCHIVE_TYPE: posix or hdf5) and frees their space (B16);
#   3. one copy (bad.bin's) is corrupted in the archive; with
#      PDM_HSM_RECALL=0 the shim starts no agent and a read of a released
#      file fails with MPI_ERR_IO;
#   4. 4 ranks read through the shim (mpiio_recall read; mpiio_hdf5 read): the
#      shim's recall agent brings every file back on first access — read,
#      write or truncate (B18, B20) — once per file although every rank
#      reads it (the agents' counts, PDM_MPIIO_VERBOSE), and the corrupted
#      one fails with MPI_ERR_IO in the application instead of hanging or
#      returning unverified data; pdm-hsm status shows the states after;
#   5. 'pdm get' of the HDF5 file is read by h5dump; fsck is clean.
# With an HDF5 archive the agent reads copies in the helper process
# pdm-hsm-fetch (the application uses HDF5 itself).
# Usage: recall.sh MPIIO_RECALL PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# Environment: PDM_HSM (pdm-hsm), ARCHIVE_TYPE, and with hdf5 PDM_MPIIO_HDF5
# (mpiio_hdf5). install_consumer runs it on the installed pdm.
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/../jobs/lib.sh"
RECALL=$PROGRAM
TYPE=${ARCHIVE_TYPE:-}
[[ $TYPE == posix || $TYPE == hdf5 ]] || fail "ARCHIVE_TYPE must be posix or hdf5"
[[ -x ${PDM_HSM:-} ]] || fail "PDM_HSM must name the pdm-hsm executable"
[[ $TYPE == posix || -x ${PDM_MPIIO_HDF5:-} ]] ||
  fail "PDM_MPIIO_HDF5 must name the mpiio_hdf5 program"
FS=$WORK/fs.conf
PLAIN=$WORK/plain
export PDM_FS=$FS PDM_MPIIO_VERBOSE=1

expect_line() {  # expect_line NAME REGEX
  grep -Eq "$2" "$WORK/$1.out" || { show_output "$1"; fail "$1: no line matches '$2'"; }
}
# shim NAME PROGRAM ARGS...: 4 ranks through the shim (the program links it).
shim() {
  local name=$1
  shift
  run_mpi "$name" 120 4 -x PDM_FS -x PDM_MPIIO_VERBOSE "$@"
  expect_status "$name" 0
}
# The recall agents' counts in a shim job's stderr (one line per rank at
# MPI_Finalize): sum of the field before WORD ("recalls", "failed").
agent_count() {
  awk -v word="$2" '/recall agent:/ {
      for (i = 2; i <= NF; i++) { w = $i; sub(/,$/, "", w); if (w == word) n += $(i - 1) } }
    END { print n + 0 }' "$WORK/$1.err"
}
expect_agents() {  # expect_agents NAME RECALLS MIN_FAILED
  local lines recalls failed
  lines=$(grep -c 'recall agent:' "$WORK/$1.err" || true)
  ((lines == 4)) || { show_output "$1"; fail "$1: $lines ranks reported a recall agent, expected 4"; }
  recalls=$(agent_count "$1" recalls)
  failed=$(agent_count "$1" failed)
  say "$1: $recalls recalls, $failed failed recalls over 4 ranks"
  ((recalls == $2)) || { show_output "$1"; fail "$1: $recalls recalls, expected $2"; }
  ((failed >= $3)) || { show_output "$1"; fail "$1: $failed failed recalls, expected at least $3"; }
}

make_fs "$FS" 4 64K
mkdir -p "$PLAIN" "$WORK/archive"
run_mpi archive 30 1 "$PDM_HSM" archive add a1 --type "$TYPE" --path "$WORK/archive" --fs "$FS"
expect_status archive 0
run_pdm mkdir 30 mkdir --fs "$FS" /recall
expect_status mkdir 0

say "4 ranks write through the shim"
shim write "$RECALL" "$PLAIN" write
files=5
if [[ $TYPE == hdf5 ]]; then
  shim h5write "$PDM_MPIIO_HDF5" "$PLAIN" write
  files=6
fi

say "pdm-hsm migrate --release ($TYPE archive)"
run_mpi migrate 120 4 "$PDM_HSM" migrate --fs "$FS" --policy 'path ~ "/**"' --release \
  --progress-interval 0
expect_status migrate 0
expect_line migrate "released $files, skipped 0 .* failed 0"

say "corrupt the archive copy of /recall/bad.bin"
python3 - "$PLAIN/bad.bin" "$WORK/archive" <<'EOF' || fail "could not corrupt the copy"
import os, sys
needle = open(sys.argv[1], "rb").read()[524288:524288 + 32]
found = {}
for root, _, names in os.walk(sys.argv[2]):
    for name in names:
        path = os.path.join(root, name)
        data = open(path, "rb").read()
        at = data.find(needle)
        if at >= 0:
            found[os.stat(path).st_ino] = (path, at)
if len(found) != 1:
    sys.exit(f"the bytes of bad.bin are in {len(found)} archive files, expected 1")
path, at = next(iter(found.values()))
with open(path, "r+b") as f:
    f.seek(at + 7)
    b = f.read(1)
    f.seek(at + 7)
    f.write(bytes([b[0] ^ 0x40]))
print(f"flipped a byte at {at + 7} of {os.path.relpath(path, sys.argv[2])}")
EOF

say "PDM_HSM_RECALL=0: no agent, a read of a released file fails with MPI_ERR_IO"
PDM_HSM_RECALL=0 shim noagent -x PDM_HSM_RECALL "$RECALL" "$PLAIN" noagent
if grep -q 'recall agent:' "$WORK/noagent.err"; then
  show_output noagent
  fail "PDM_HSM_RECALL=0 still started a recall agent"
fi

say "4 ranks read, write and truncate the released files through the shim"
shim read "$RECALL" "$PLAIN" read
# good.bin, write.bin and trunc.bin recalled once each; bad.bin never.
expect_agents read 3 1
if [[ $TYPE == hdf5 ]]; then
  say "the parallel HDF5 program reads the released file through the shim"
  shim h5read "$PDM_MPIIO_HDF5" "$PLAIN" read
  expect_agents h5read 1 0
fi

run_mpi status 30 1 "$PDM_HSM" status --fs "$FS" /
expect_status status 0
expect_line status '^premigrated .* /recall/good\.bin$'
expect_line status '^resident.* /recall/write\.bin$'
expect_line status '^resident.* /recall/trunc\.bin$'
expect_line status '^migrated .* /recall/bad\.bin$'
expect_line status '^migrated .* /recall/later\.bin$'
if [[ $TYPE == hdf5 ]]; then
  expect_line status '^premigrated .* /shim\.h5$'
  run_pdm get 60 get --fs "$FS" /shim.h5 "$PLAIN/shim.h5"
  expect_status get 0
  h5dump "$PLAIN/shim.h5" >"$WORK/h5dump.out" || fail "h5dump cannot read /shim.h5"
  grep -q 'DATASET "chunked_independent"' "$WORK/h5dump.out" || fail "h5dump: a dataset is missing"
fi
fsck_clean fsck "$FS"
say "mpiio_recall ($TYPE archive): ok"
