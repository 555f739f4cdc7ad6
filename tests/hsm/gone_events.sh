#!/usr/bin/env bash
# The archive stays tidy through REMOVE events (issue #6: "DESTROY/REMOVE
# events keep the archive tidy (after the grace period)"), as a user runs it,
# 4 ranks:
#   - files migrated and released by 'pdm-hsm migrate --release';
#   - one removed with 'pdm rm' (4 ranks): the job runs the recall agent (the
#     fs has an archive), whose REMOVE handler notes the file's copy in the
#     root's pdm.gone with the removal time before the file goes;
#   - one removed by a job that runs no agent: nothing notes it, and
#     'pdm-hsm remove' finds the copy an orphan by its scan (first seen now);
#   - 'remove --grace 1w' keeps both and says which is which ('removed at' /
#     'first seen'); 'remove --grace 0' drops both; the other copies stay and
#     recall (checksums verified); fsck is clean.
# Usage: gone_events.sh MIGRATE_KILL_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# with PDM_HSM (the pdm-hsm executable) in the environment.
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/../jobs/lib.sh"
# shellcheck source=tests/hsm/hsm_lib.sh
source "$(dirname "$0")/hsm_lib.sh"
JOB=$PROGRAM
FS=$WORK/fs.conf
COUNT=16

make_fs "$FS" 4 64K
mkdir -p "$WORK/archive"
hsm archive 1 archive add a1 --type posix --path "$WORK/archive"
expect_status archive 0
run_mpi populate 60 2 "$JOB" populate "$FS" "$COUNT"
expect_status populate 0

say "migrate --release with 4 ranks"
hsm migrate 4 migrate --policy 'size > 64K' --release --progress-interval 0
expect_status migrate 0
hsm status1 1 status
expect_status status1 0
mapfile -t migrated < <(sed -nE 's|^migrated .* (/d[0-9]+/f[0-9]+)$|\1|p' "$WORK/status1.out")
((${#migrated[@]} >= 3)) || { show_output status1; fail "fewer than 3 files migrated"; }
removed=${migrated[0]}
unlinked=${migrated[1]}

say "pdm rm of a migrated file: the agent notes its copy at the removal"
run_mpi rm 60 4 "$PDM" rm --fs "$FS" "$removed"
expect_status rm 0
say "a removal by a job without an agent: only the scan will find that copy"
run_mpi unlink 60 4 "$JOB" unlink "$FS" "$unlinked"
expect_status unlink 0

say "remove --grace 1w keeps both, noted at the removal and first seen now"
hsm remove1 4 remove --grace 1w
expect_status remove1 0
expect_line remove1 "^kept orphan a1:[^ ]+ $removed: removed at [0-9-]+ [0-9:]+ UTC\$"
expect_line remove1 "^kept orphan a1:[^ ]+ $unlinked: first seen [0-9-]+ [0-9:]+ UTC\$"
expect_line remove1 "dropped 0 stale and 0 orphan copies; 0 stale and 2 orphan copies kept"

say "remove --grace 0 drops both copies, and only them"
hsm remove2 4 remove --grace 0
expect_status remove2 0
expect_line remove2 "^dropped orphan a1:[^ ]+ $removed\$"
expect_line remove2 "^dropped orphan a1:[^ ]+ $unlinked\$"
expect_line remove2 "dropped 0 stale and 2 orphan copies; 0 stale and 0 orphan copies kept"
hsm list 1 archive list --copies
expect_status list 0
expect_line list "^a1 .*copies=$((${#migrated[@]} - 2)) "
hsm status2 1 status
expect_line status2 "^$((COUNT - 2)) files: .* $((${#migrated[@]} - 2)) migrated"

say "the other copies still recall (checksums verified); fsck is clean"
hsm recall 4 recall /
expect_status recall 0
expect_line recall "^recalled $((${#migrated[@]} - 2)) files"
fsck_clean fsck "$FS"
say "gone_events: ok"
