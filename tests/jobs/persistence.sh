#!/usr/bin/env bash
# Scenario persistence: what one job writes, a later job with a different
# number of ranks reads back intact, and fsck finds the file system clean.
#   job 1 (4 ranks) makes a shared file written by all ranks in disjoint
#     chunks, a tree of 120 small files, renames (of a file across
#     directories, over an existing file, of a directory), unlinks and
#     truncates (down and up), and writes a manifest of the expected
#     namespace (names, sizes, XXH64 of the content; names that must be gone);
#   job 2 (3 ranks: each volume now has another owner) checks every file's
#     size and content, the complete directory listing and the absent names.
# Usage: persistence.sh PERSISTENCE_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/lib.sh"
JOB=$PROGRAM
FS=$WORK/fs.conf
MANIFEST=$WORK/manifest

make_fs "$FS" 4 64K

say "job 1: 4 ranks write"
run_mpi write 120 4 "$JOB" write "$FS" "$MANIFEST"
expect_status write 0
[[ -s $MANIFEST ]] || fail "job 1 succeeded but wrote no manifest"
grep -q '^file /shared.dat ' "$MANIFEST" || fail "the manifest lacks /shared.dat"
grep -q '^absent /big_unlinked$' "$MANIFEST" || fail "the manifest lacks the unlinked file"
fsck_clean fsck1 "$FS"

say "job 2: 3 ranks verify"
run_mpi verify 120 3 "$JOB" verify "$FS" "$MANIFEST"
expect_status verify 0
say "$(cat "$WORK/verify.out")"

# The CLI, a third job, lists the same top-level names.
run_pdm ls 60 ls --fs "$FS" /
expect_status ls 0
expected=$(sed -nE 's|^(dir\|file) /([^/ ]+)( .*)?$|\2|p' "$MANIFEST" | sort)
listed=$(sort "$WORK/ls.out")
[[ $listed == "$expected" ]] || fail "pdm ls / listed [$listed], expected [$expected]"

fsck_clean fsck2 "$FS"
say "persistence: ok"
