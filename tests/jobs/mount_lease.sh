#!/usr/bin/env bash
# Scenario mount_lease: one job at a time mounts a file system.
#   A (2 ranks) mounts and holds the mount; meanwhile B (2 ranks) is refused
#     on every rank with EBUSY and a message naming A's host and rank-0 pid,
#     'pdm ls' fails (exit 1) saying the file system is mounted, and 'pdm
#     fsck' refuses to check it (exit 2). Released, A exits 0 and B' mounts
#     and reads A's files.
#   C (2 ranks) mounts, writes files, and is SIGKILLed, every rank; D then
#     mounts (the stale lease is recovered, and says so), reads C's
#     completed files, and fsck finds the file system clean.
# Usage: mount_lease.sh MOUNT_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/lib.sh"
JOB=$PROGRAM
FS=$WORK/fs.conf

make_fs "$FS" 3 64K

say "A holds the mount"
start_mpi A 150 2 "$JOB" hold "$FS" "$WORK" A
a_pid=$LAST_PID
wait_for_file "$WORK/A.ready" 60 A "$a_pid"
holder=$(<"$WORK/A.holder")

say "B is refused while A (pid $holder) holds it"
run_mpi B 60 2 "$JOB" refused "$FS" "$WORK" A
expect_status B 0
say "$(cat "$WORK/B.out")"

run_pdm ls 60 ls --fs "$FS" /
expect_status ls 1
grep -q "mounted" "$WORK/ls.err" || { show_output ls; fail "pdm ls does not say the file system is mounted"; }
grep -q "pid $holder\b" "$WORK/ls.err" || { show_output ls; fail "pdm ls does not name the holder pid $holder"; }

run_pdm fsck_busy 60 fsck --fs "$FS"
expect_status fsck_busy 2
grep -q "mounted" "$WORK/fsck_busy.err" || { show_output fsck_busy; fail "pdm fsck does not say the file system is mounted"; }

say "A is released"
alive "$a_pid" || fail "A ended before it was released"
touch "$WORK/A.go"
wait_job A "$a_pid" 60
expect_status A 0

say "B' mounts once A is gone"
run_mpi B2 60 2 "$JOB" check "$FS" "$WORK" A
expect_status B2 0
if grep -q "stale" "$WORK/B2.err"; then
  show_output B2
  fail "B' found a stale lease although A unmounted"
fi

say "C mounts, writes and is SIGKILLed"
start_mpi C 150 2 "$JOB" hold "$FS" "$WORK" C
c_pid=$LAST_PID
wait_for_file "$WORK/C.ready" 60 C "$c_pid"
c_holder=$(<"$WORK/C.holder")
kill_job C "$c_pid" "$WORK"/C.pid.*

say "D mounts over C's stale lease"
run_mpi D 60 2 "$JOB" check "$FS" "$WORK" C
expect_status D 0
grep -q "recovered the stale mount lease of pid $c_holder\b" "$WORK/D.err" ||
  { show_output D; fail "D does not report recovering the stale lease of C (pid $c_holder)"; }
if grep -Eiv "recovered the stale mount lease" "$WORK/D.err" | grep -Eiq "error|fatal|abort|fail"; then
  show_output D
  fail "D reported a failure"
fi
say "$(cat "$WORK/D.out")"

fsck_clean fsck "$FS"
say "mount_lease: ok"
