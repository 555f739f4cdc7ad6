#!/usr/bin/env bash
# Scenario writer_kill: a writer job (4 ranks) is SIGKILLed, every rank,
# while writing; then 'pdm fsck' finds the file system clean (warnings
# allowed), and a verifier job (2 ranks), which recovers the stale lease,
# finds every write the writers journaled as completed intact, byte for
# byte, and every file at least as long as its last journaled write; fsck
# is clean after it too.
# The kill comes after at least N journaled writes, for three values of N,
# each on a new file system.
# Usage: writer_kill.sh WRITER_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/lib.sh"
JOB=$PROGRAM
RANKS=4

# Complete lines (with their newline) in every journal of a run.
journaled() {
  local file lines=0
  for file in "$1"/journal.*; do
    [[ -e $file ]] && lines=$((lines + $(wc -l <"$file")))
  done
  echo "$lines"
}

for writes in 5 37 150; do
  run=$WORK/run$writes
  mkdir "$run"
  FS=$run/fs.conf
  make_fs "$FS" 4 64K

  say "N=$writes: writers start"
  start_mpi "write$writes" 120 "$RANKS" "$JOB" write "$FS" "$run"
  writer=$LAST_PID
  wait_for_file "$run/ready" 60 "write$writes" "$writer"
  end=$((SECONDS + $(budget 60)))
  while (($(journaled "$run") < writes)); do
    if ! alive "$writer"; then
      wait "$writer" || true
      show_output "write$writes"
      fail "the writers ended after $(journaled "$run") journaled writes, before they were killed"
    fi
    ((SECONDS < end)) || { show_output "write$writes"; fail "fewer than $writes journaled writes in 60 s"; }
    sleep 0.01
  done
  kill_job "write$writes" "$writer" "$run"/pid.*
  count=$(journaled "$run")
  say "N=$writes: killed after $count journaled writes"

  # fsck sees the file system as the kill left it, except in the second run:
  # there the verifier mounts first, so that it recovers the stale lease
  # (fsck would have taken and released it).
  if ((writes != 37)); then fsck_clean "fsck$writes" "$FS"; fi
  run_mpi "verify$writes" 120 2 "$JOB" verify "$FS" "$run"
  expect_status "verify$writes" 0
  grep -q "^verified $count journaled writes" "$WORK/verify$writes.out" ||
    { show_output "verify$writes"; fail "the verifier did not check all $count journaled writes"; }
  if ((writes == 37)); then
    grep -q "recovered the stale mount lease of pid $(<"$run/pid.0")\b" "$WORK/verify$writes.err" ||
      { show_output "verify$writes"; fail "the verifier did not report recovering the writers' stale lease"; }
  fi
  say "N=$writes: $(cat "$WORK/verify$writes.out")"
  fsck_clean "fsck_after$writes" "$FS"
  rm -rf "$run"
done
say "writer_kill: ok"
