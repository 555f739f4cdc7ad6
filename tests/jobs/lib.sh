# Shared by the scenario drivers of tests/jobs; sourced, never run.
#
# A driver is run as  <scenario>.sh PROGRAM PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# It gets a work directory $WORK (removed on exit, whatever happens), runs
# MPI jobs with a time limit each and the whole driver within $BUDGET
# seconds (less than the ctest TIMEOUT, so that the driver, not ctest, reports
# a hang and cleans up), and fails with a message and the job's output.
set -euo pipefail

if (($# < 3)); then
  echo "usage: $0 PROGRAM PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]" >&2
  exit 2
fi
PROGRAM=$1
PDM=$2
MPIEXEC=$3
shift 3
MPI_FLAGS=("$@")
for exe in "$PROGRAM" "$PDM" "$MPIEXEC"; do
  [[ -x $exe ]] || { echo "$0: $exe is not an executable (build it first)" >&2; exit 2; }
done

BUDGET=${BUDGET:-270}
DEADLINE=$((SECONDS + BUDGET))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdm-jobs-XXXXXX")
BACKGROUND=()  # the timeout processes of background jobs, to stop on exit
LAST_STATUS=0
LAST_PID=0

cleanup() {
  local status=$?
  local pid
  for pid in "${BACKGROUND[@]}"; do
    if alive "$pid"; then stop_job "$pid"; fi
  done
  # Ranks of a job this driver could not stop (they name $WORK in their arguments).
  for pid in $(processes_in_work); do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

say() { echo "== $*"; }

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Seconds left for a step that wants $1: less when the driver's budget runs out.
budget() {
  local left=$((DEADLINE - SECONDS))
  ((left > 0)) || fail "the driver ran out of its ${BUDGET} s budget"
  echo $(($1 < left ? $1 : left))
}

# Whether a process runs (a zombie has already ended).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# The processes, other than zombies, whose command line names $WORK: the
# ranks and launchers of this driver's jobs. Read from /proc, so that no
# helper process (a grep naming $WORK) counts itself.
processes_in_work() {
  local dir cmdline
  for dir in /proc/[0-9]*; do
    [[ ${dir#/proc/} == "$$" || ${dir#/proc/} == "$BASHPID" ]] && continue
    cmdline=$(tr '\0' ' ' 2>/dev/null <"$dir/cmdline") || continue
    [[ $cmdline == *"$WORK"* ]] && alive "${dir#/proc/}" && echo "${dir#/proc/}"
  done
  return 0
}

show_output() {
  local name=$1 file
  for file in "$WORK/$name.out" "$WORK/$name.err"; do
    [[ -s $file ]] || continue
    echo "---- $(basename "$file") (last 40 lines)" >&2
    tail -n 40 "$file" >&2
  done
}

# run_mpi NAME SECONDS RANKS COMMAND...: runs COMMAND under mpiexec in the
# foreground, its output in $WORK/NAME.out and .err; sets LAST_STATUS (124:
# timed out).
run_mpi() {
  local name=$1 seconds
  seconds=$(budget "$2")
  local ranks=$3
  shift 3
  LAST_STATUS=0
  timeout -k 5 "$seconds" "$MPIEXEC" "${MPI_FLAGS[@]}" -n "$ranks" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" || LAST_STATUS=$?
}

# expect_status NAME STATUS: fails, showing the job's output, unless the
# last job exited with STATUS.
expect_status() {
  if ((LAST_STATUS != $2)); then
    show_output "$1"
    fail "$1 exited with status $LAST_STATUS, expected $2"
  fi
}

# start_mpi NAME SECONDS RANKS COMMAND...: run_mpi in the background; sets
# LAST_PID (the timeout process that runs mpiexec).
start_mpi() {
  local name=$1 seconds
  seconds=$(budget "$2")
  local ranks=$3
  shift 3
  timeout -k 5 "$seconds" "$MPIEXEC" "${MPI_FLAGS[@]}" -n "$ranks" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  LAST_PID=$!
  BACKGROUND+=("$LAST_PID")
}

# Stops a background job that would not end: TERM to its timeout process
# (which passes it on to mpiexec and kills it 5 s later), then KILL to both.
stop_job() {
  local pid=$1 child end=$((SECONDS + 10))
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && ((SECONDS < end)); do sleep 0.1; done
  for child in $(pgrep -P "$pid" 2>/dev/null); do kill -9 "$child" 2>/dev/null || true; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_job NAME PID SECONDS: waits for a background job to end and sets
# LAST_STATUS; stops it and fails if it does not end in time.
wait_job() {
  local name=$1 pid=$2 seconds
  seconds=$(budget "$3")
  local end=$((SECONDS + seconds))
  while alive "$pid"; do
    if ((SECONDS >= end)); then
      stop_job "$pid"
      show_output "$name"
      fail "$name did not end within $seconds s"
    fi
    sleep 0.05
  done
  LAST_STATUS=0
  wait "$pid" || LAST_STATUS=$?
}

# wait_for_file PATH SECONDS NAME PID: waits until the job NAME (background
# PID) creates PATH; fails if it ends first or the time runs out.
wait_for_file() {
  local path=$1 seconds
  seconds=$(budget "$2")
  local name=$3 pid=$4 end=$((SECONDS + seconds))
  until [[ -e $path ]]; do
    if ! alive "$pid"; then
      wait "$pid" || true
      show_output "$name"
      fail "$name ended before it created $path"
    fi
    ((SECONDS < end)) || { show_output "$name"; fail "$name did not create $path within $seconds s"; }
    sleep 0.05
  done
}

# kill_job NAME PID PIDFILE...: SIGKILLs every rank of the background job
# NAME (their pids in PIDFILEs), waits for its mpiexec to end (stopping it if
# it lingers), and fails if any rank, or any other process of this driver's
# jobs, is left running.
kill_job() {
  local name=$1 pid=$2 file rank_pid
  shift 2
  local ranks=()
  for file in "$@"; do
    rank_pid=$(<"$file")
    [[ $rank_pid =~ ^[0-9]+$ ]] || fail "$file holds no pid"
    ranks+=("$rank_pid")
  done
  for rank_pid in "${ranks[@]}"; do
    alive "$rank_pid" || { show_output "$name"; fail "$name: rank pid $rank_pid had ended before it was killed"; }
  done
  # Stopped first, all of them: once one rank dies, mpiexec kills the others
  # (and their MPI layer may report the dead peer) before a kill loop gets
  # to them. Stopped, they run no more code until they get their SIGKILL.
  kill -STOP "${ranks[@]}" || fail "$name: a rank ended before it could be stopped"
  kill -KILL "${ranks[@]}" 2>/dev/null || true
  local end=$((SECONDS + 20))
  while alive "$pid" && ((SECONDS < end)); do sleep 0.05; done
  if alive "$pid"; then
    echo "$name: mpiexec still runs 20 s after its ranks were killed; stopping it" >&2
    stop_job "$pid"
  fi
  wait "$pid" 2>/dev/null || true
  for rank_pid in "${ranks[@]}"; do
    if alive "$rank_pid"; then fail "$name: rank pid $rank_pid survived SIGKILL"; fi
  done
  local left
  left=$(processes_in_work)
  if [[ -n $left ]]; then
    ps -o pid,ppid,stat,args -p "$(paste -sd, <<<"$left")" >&2 || true
    fail "$name: processes of the killed job are still running: $left"
  fi
}

# pdm CLI commands run as a one-rank MPI job, like any other job.
# run_pdm NAME SECONDS ARGS...
run_pdm() {
  local name=$1 seconds=$2
  shift 2
  run_mpi "$name" "$seconds" 1 "$PDM" "$@"
}

# make_fs FS VOLUMES STRIPE: a new file system of VOLUMES volumes in $WORK.
make_fs() {
  local fs=$1 volumes=$2 stripe=$3 v
  local args=()
  for ((v = 0; v < volumes; v++)); do args+=(--volume "${fs%.conf}.vol$v"); done
  run_pdm mkfs 30 mkfs "$fs" "${args[@]}" --stripe-size "$stripe"
  expect_status mkfs 0
}

# fsck_clean NAME FS: 'pdm fsck' must find no errors (exit 0).
fsck_clean() {
  run_pdm "$1" 60 fsck --fs "$2"
  expect_status "$1" 0
  say "$1: $(tail -n 1 "$WORK/$1.out")"
}
