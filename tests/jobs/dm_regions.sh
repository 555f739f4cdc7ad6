#!/usr/bin/env bash
# Scenario dm_regions: managed regions and released ranges are persistent.
#   job 1 (4 ranks): a DM application punches a range of /hsm and sets two
#     managed regions;
#   job 2 (3 ranks, other volume owners): a new session reads the regions
#     back, and every rank reads /hsm: the file's bytes outside the punched
#     range, EIO inside it (never zeros).
# Usage: dm_regions.sh DM_REGIONS_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/lib.sh"
JOB=$PROGRAM
FS=$WORK/fs.conf

make_fs "$FS" 4 64K

say "job 1: 4 ranks punch and set regions"
run_mpi set 120 4 "$JOB" set "$FS"
expect_status set 0
fsck_clean fsck1 "$FS"

say "job 2: 3 ranks check"
run_mpi check 120 3 "$JOB" check "$FS"
expect_status check 0
fsck_clean fsck2 "$FS"
say "dm_regions: ok"
