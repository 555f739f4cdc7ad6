#!/usr/bin/env bash
# run.sh RANKS MPIEXEC [ARGS...]: runs a failure test and judges it by the
# verdict every rank records (tests/failure/failure_support.h), because
# mpirun --enable-recovery exits 0 whatever its ranks return (FAILURES.md §1).
# Passes only if every rank 0..RANKS-1 recorded "ok" or "killed" (a rank
# the test SIGKILLed on purpose) and mpirun itself succeeded.
set -uo pipefail
ranks=$1
shift
verdicts=$(mktemp -d "${TMPDIR:-/tmp}/pdm-failure-verdicts-XXXXXX")
trap 'rm -rf "$verdicts"' EXIT
PDM_FAILURE_VERDICTS=$verdicts "$@"
rc=$?
bad=0
for ((r = 0; r < ranks; r++)); do
  verdict=$(cat "$verdicts/rank-$r" 2>/dev/null || echo "none (the rank ended without one)")
  case $verdict in
    ok | killed) ;;
    *) echo "run.sh: rank $r: $verdict" >&2; bad=1 ;;
  esac
done
if ((rc != 0)); then echo "run.sh: mpiexec exited $rc" >&2; exit "$rc"; fi
exit "$bad"
