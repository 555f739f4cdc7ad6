#!/usr/bin/env bash
# Scenario migrate_kill: the migration invariant. A migration job (4 ranks,
# `pdm-hsm migrate --release` of every file) is SIGKILLed at chosen points
# of its steps (PDM_HSM_KILL_AT=<point>:<n>: the process that reaches
# <point> for the n-th time kills itself; hsm_file.h names the points: copy
# stored but not recorded, record premigrated, regions set, record
# migrated but space not punched, punched) and once from outside (every
# rank SIGKILLed once the archive holds copies). After each kill a
# verifier job (3 ranks, other volume owners) reads every file through the
# recall agent: each must be byte-identical to what was written. Then a
# migration job runs to the end: every file is migrated, and reads back
# identical once more. 'pdm fsck' stays clean throughout.
# Usage: migrate_kill.sh MIGRATE_KILL_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# with PDM_HSM (the pdm-hsm executable) in the environment.
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/../jobs/lib.sh"
JOB=$PROGRAM
[[ -x ${PDM_HSM:-} ]] || fail "PDM_HSM must name the pdm-hsm executable"
FS=$WORK/fs.conf
ARCHIVE=$WORK/archive
COUNT=40
POLICY='size >= 0'

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
add_archive a1 "$ARCHIVE"
run_mpi populate 60 2 "$JOB" populate "$FS" "$COUNT"
expect_status populate 0

verify() {
  run_mpi "verify-$1" 120 3 "$JOB" verify "$FS" "$COUNT" ${2:-}
  expect_status "verify-$1" 0
  say "$1: $(tail -n 1 "$WORK/verify-$1.out")"
}

# Each point is reached by a job that still has such steps to make: the
# copy steps while files are still resident, the release steps after.
for kill_at in copied:2 recorded:3 copied:1 regions:2 migrated:1 punched:2 regions:1 migrated:3; do
  name=${kill_at/:/-}
  PDM_HSM_KILL_AT=$kill_at run_mpi "kill-$name" 120 4 "$PDM_HSM" migrate --fs "$FS" \
    --policy "$POLICY" --release --progress-interval 0
  if ((LAST_STATUS == 0)); then
    say "$kill_at: the job had no such step left (it finished)"
  else
    say "$kill_at: killed (status $LAST_STATUS)"
  fi
  verify "$name"
done

# From outside: every rank SIGKILLed at a random moment (0-1.5 s after all
# four ranks run; $RANDOM is seeded by the driver's pid): this picks the
# kill point, it does not wait for an outcome.
say "external kill"
before=$(find "$ARCHIVE" -type f | wc -l)
start_mpi external 120 4 "$PDM_HSM" migrate --fs "$FS" --policy "$POLICY" --release \
  --progress-interval 0
job=$LAST_PID
end=$((SECONDS + 60))
ranks=()
while ((SECONDS < end)) && alive "$job"; do
  ranks=()
  for pid in $(processes_in_work); do
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$(readlink -f "$PDM_HSM")" ]] && ranks+=("$pid")
  done
  ((${#ranks[@]} == 4)) && break
  sleep 0.01
done
if ((${#ranks[@]} == 4)); then sleep "0.$(printf '%03d' $((RANDOM % 300)))"; fi
# The job may end on its own during the random wait: stop every rank first
# (a stopped rank cannot end), and if one is already gone let the others go
# on and count the run as one that finished.
stopped=0
if alive "$job" && ((${#ranks[@]} == 4)); then
  # A rank that just ended is a zombie until mpiexec reaps it, and a zombie
  # takes the STOP without an error: check that every one still lives.
  if kill -STOP "${ranks[@]}" 2>/dev/null; then
    stopped=1
    for pid in "${ranks[@]}"; do alive "$pid" || stopped=0; done
    ((stopped)) || kill -CONT "${ranks[@]}" 2>/dev/null || true
  else
    kill -CONT "${ranks[@]}" 2>/dev/null || true
  fi
fi
if ((stopped)); then
  for ((r = 0; r < 4; r++)); do echo "${ranks[r]}" >"$WORK/pid.$r"; done
  kill_job external "$job" "$WORK"/pid.*
  say "external kill: killed with $(($(find "$ARCHIVE" -type f | wc -l) - before)) new archive files"
else
  wait_job external "$job" 60
  say "external kill: the job ended before its ranks could be killed (status $LAST_STATUS)"
fi
verify external
fsck_clean fsck-killed "$FS"

say "a job that finishes the work"
run_mpi finish 180 4 "$PDM_HSM" migrate --fs "$FS" --policy "$POLICY" --release \
  --progress-interval 0
expect_status finish 0
say "finish: $(tail -n 1 "$WORK/finish.out")"
grep -q "failed 0" "$WORK/finish.out" || { show_output finish; fail "the finishing job had failures"; }
verify finished migrated
fsck_clean fsck-finished "$FS"
say "migrate_kill: ok"
