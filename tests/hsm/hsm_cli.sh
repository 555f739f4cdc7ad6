#!/usr/bin/env bash
# Scenario hsm_cli: the pdm-hsm commands as a user runs them, each its own
# MPI job on one file system with a POSIX archive:
#   migrate --dry-run lists the selection and changes nothing; a bad policy
#   is a usage error (2) naming the problem; migrate --release (4 ranks)
#   frees space ('pdm df'); status shows the states; recall and release move
#   files between premigrated and migrated; a rewritten premigrated file
#   shows a stale copy and is not released; 'pdm get' of a migrated file
#   recalls it (pdm get runs the recall agent); remove drops the copies of a
#   deleted and of a rewritten file only after their grace period; serve stays up until SIGTERM
#   and leaves cleanly; every file reads back identical (verifier job with
#   the recall agent); fsck is clean.
# Usage: hsm_cli.sh MIGRATE_KILL_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# with PDM_HSM (the pdm-hsm executable) in the environment.
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/../jobs/lib.sh"
# shellcheck source=tests/hsm/hsm_lib.sh
source "$(dirname "$0")/hsm_lib.sh"
JOB=$PROGRAM
FS=$WORK/fs.conf
COUNT=24

# add_archive ID DIR: registers a POSIX archive (pdm-hsm archive add when
# this pdm-hsm has it, else the [hsm] line that command writes).
add_archive() {
  mkdir -p "$2"
  if "$PDM_HSM" --help 2>/dev/null | grep -qE '^ +archive '; then
    run_mpi archive 30 1 "$PDM_HSM" archive add "$1" --type posix --path "$2" --fs "$FS"
    expect_status archive 0
  else
    touch "$2/pdm-hsm-posix"  # the marker 'archive add' writes
    printf '[hsm]\narchive = %s posix %s\n' "$1" "$2" >>"$FS"
  fi
}

make_fs "$FS" 4 64K
add_archive a1 "$WORK/archive"
run_mpi populate 60 2 "$JOB" populate "$FS" "$COUNT"
expect_status populate 0

say "a bad policy is a usage error"
hsm badpolicy 1 migrate --policy 'size >> 1M'
expect_status badpolicy 2
grep -q "policy\|column\|expected" "$WORK/badpolicy.err" || { show_output badpolicy; fail "no clear message"; }

say "dry run"
hsm dry 2 migrate --policy 'size > 64K and path ~ "/d1/**"' --dry-run
expect_status dry 0
expect_line dry '^dry run: [0-9]+ of 24 files selected'
selected=$(sed -nE 's/^dry run: ([0-9]+) of .*/\1/p' "$WORK/dry.out")
((selected > 0)) || fail "the dry run selected nothing"
hsm status0 1 status
expect_status status0 0
expect_line status0 "^24 files: 24 resident, 0 premigrated, 0 migrated"

say "migrate --release with 4 ranks"
run_pdm df0 30 df --fs "$FS"
hsm migrate 4 migrate --policy 'size > 64K and path ~ "/d1/**"' --release --progress-interval 0
expect_status migrate 0
expect_line migrate "^selected $selected files .* archived $selected .* released $selected, skipped 0 .* failed 0, freed"
run_pdm df1 30 df --fs "$FS"
used() { awk '$1 ~ /^[0-9]+$/ {printf "vol%s %s %s  ", $1, $4, $5}' "$WORK/$1.out"; }
say "pdm df, used before: $(used df0)"
say "pdm df, used after:  $(used df1)"
hsm status1 1 status /d1
expect_status status1 0
expect_line status1 "^migrated .* a1:.* /d1/"
expect_line status1 " $selected migrated"

say "recall, then release again"
hsm recall 3 recall /d1
expect_status recall 0
expect_line recall "^recalled $selected files"
hsm status2 1 status /d1
expect_line status2 " $selected premigrated, 0 migrated"
say "a premigrated file rewritten (same bytes, new mtime) has a stale copy"
# The last one: the deleted file below is the first.
rewritten=$(sed -nE 's|^premigrated .* (/d1/f[0-9]+)$|\1|p' "$WORK/status2.out" | tail -n 1)
[[ -n $rewritten ]] || fail "no premigrated file to rewrite"
run_mpi get 60 1 "$PDM" get --fs "$FS" "$rewritten" "$WORK/rewritten"
expect_status get 0
run_mpi put 60 1 "$PDM" put --fs "$FS" "$WORK/rewritten" "$rewritten"
expect_status put 0
hsm status3 1 status "$rewritten"
expect_line status3 "^resident\* .* a1:"
hsm release 2 release /d1
expect_status release 1  # the small resident files of /d1 are not archived: reported
expect_line release "^released $((selected - 1)) files .* 1 changed"

say "pdm get of a migrated file recalls it (the agent runs in pdm get)"
hsm status5 1 status /d1
fetched=$(sed -nE 's|^migrated .* (/d1/f[0-9]+)$|\1|p' "$WORK/status5.out" | tail -n 1)
[[ -n $fetched ]] || fail "no migrated file left in /d1"
run_mpi getmigrated 60 2 "$PDM" get --fs "$FS" "$fetched" "$WORK/fetched"
expect_status getmigrated 0
hsm status6 1 status "$fetched"
expect_line status6 "^premigrated .* $fetched\$"
[[ -s $WORK/fetched ]] || fail "pdm get wrote nothing"

say "remove: the copies of a deleted and a rewritten file go after the grace period"
victim=$(sed -nE 's|^migrated .* (/d1/f[0-9]+)$|\1|p' "$WORK/status1.out" | head -n 1)
[[ -n $victim && $victim != "$rewritten" ]] || fail "no migrated file to delete"
run_pdm rm 30 rm --fs "$FS" "$victim"
expect_status rm 0
hsm remove1 1 remove --grace 1h
expect_status remove1 0
expect_line remove1 "dropped 0 stale and 0 orphan copies; 1 stale and 1 orphan copies kept"
hsm remove2 1 remove --grace 0
expect_status remove2 0
expect_line remove2 "dropped 1 stale and 1 orphan copies"
hsm status4 1 status "$rewritten"
expect_line status4 "^resident +[0-9.]+ [KMG]?i?B +- +- +$rewritten"

say "serve until SIGTERM"
start_mpi serve 120 2 "$PDM_HSM" serve --fs "$FS"
server=$LAST_PID
end=$((SECONDS + 60))
until grep -q "SIGTERM or SIGINT stops" "$WORK/serve.out" 2>/dev/null; do
  alive "$server" || { show_output serve; fail "serve ended before it served"; }
  ((SECONDS < end)) || { show_output serve; fail "serve did not start within 60 s"; }
  sleep 0.05
done
for pid in $(processes_in_work); do
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$(readlink -f "$PDM_HSM")" ]] && kill -TERM "$pid"
done
wait_job serve "$server" 60
expect_status serve 0
expect_line serve "stopping on"

say "every file reads back identical"
# The deleted file is gone: the verifier checks the others.
run_mpi verify 120 3 "$JOB" verify "$FS" "$COUNT" "" "$victim"
expect_status verify 0
say "verify: $(tail -n 1 "$WORK/verify.out")"
fsck_clean fsck "$FS"
say "hsm_cli: ok"
