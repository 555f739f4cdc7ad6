#!/usr/bin/env bash
# Scenario rebuild_catalog: `pdm-hsm archive add|list` and `pdm-hsm
# rebuild-catalog` recreate every file's pdm.hsm record from the archives
# alone (issue #6), under 4 ranks, idempotently.
#   archive add a1 (hdf5, the default) and p1 (posix); errors for a repeated id;
#   job prepare (4 ranks): files, copies, releases, rewrites (rebuild_catalog_job.cpp);
#   rebuild-catalog (4 ranks): the counts; job check: every record;
#   rebuild-catalog again: every record already right.
# Usage: rebuild_catalog.sh REBUILD_CATALOG_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
#   with PDM_HSM set to the pdm-hsm executable.
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/../jobs/lib.sh"
JOB=$PROGRAM
FS=$WORK/fs.conf
[[ -x ${PDM_HSM:-} ]] || fail "PDM_HSM must name the pdm-hsm executable"

expect_line() {  # NAME TEXT: the job's stdout has TEXT
  grep -qF -- "$2" "$WORK/$1.out" || { show_output "$1"; fail "$1: no '$2' in its output"; }
}

make_fs "$FS" 4 64K

say "archive add and list"
run_mpi add1 60 1 "$PDM_HSM" archive add a1 --type hdf5 --path "$WORK/arch-h5" --deflate 1 --fs "$FS"
expect_status add1 0
expect_line add1 "archive a1 added: hdf5 in $WORK/arch-h5 (the default archive)"
run_mpi add2 60 1 "$PDM_HSM" archive add p1 --type posix --path "$WORK/arch-posix" --fs "$FS"
expect_status add2 0
run_mpi add3 60 1 "$PDM_HSM" archive add a1 --type posix --path "$WORK/other" --fs "$FS"
expect_status add3 1
grep -q "already exists" "$WORK/add3.err" || { show_output add3; fail "add3: no 'already exists'"; }
run_mpi add4 60 1 "$PDM_HSM" archive add p2 --type posix --path "$WORK/x" --deflate 3 --fs "$FS"
expect_status add4 1
run_mpi list 60 2 "$PDM_HSM" archive list --fs "$FS"
expect_status list 0
expect_line list "a1 (default)  hdf5  $WORK/arch-h5 deflate=1"
expect_line list "p1  posix  $WORK/arch-posix"

say "job prepare: 4 ranks write files and archive them, with no catalog"
run_mpi prepare 120 4 "$JOB" prepare "$FS"
expect_status prepare 0
run_mpi list2 60 1 "$PDM_HSM" archive list --copies --fs "$FS"
expect_status list2 0
expect_line list2 "copies=8"  # a1: f0 f2 f4 f6 f6 f8 f8 f10
expect_line list2 "copies=6"  # p1: the odd ones

say "rebuild-catalog on 4 ranks"
run_mpi rebuild 120 4 "$PDM_HSM" rebuild-catalog --fs "$FS"
expect_status rebuild 0
expect_line rebuild "14 copies of 12 file versions: 7 premigrated, 3 migrated, 1 resident with a stale copy (0 records already right); 1 gone"
run_mpi check 120 1 "$JOB" check "$FS"
expect_status check 0

say "rebuild-catalog again: nothing to change"
run_mpi rebuild2 120 3 "$PDM_HSM" rebuild-catalog --fs "$FS"
expect_status rebuild2 0
expect_line rebuild2 "(11 records already right)"
fsck_clean fsck "$FS"
say "rebuild_catalog: ok"
