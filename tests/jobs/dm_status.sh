#!/usr/bin/env bash
# Scenario dm_status: `pdm sessions`, `pdm status` and `pdm events` watch a running DM
# application from outside its job (they do not mount the file system).
#   `pdm events --follow` starts before any job and waits for one.
#   The job (2 ranks, dm_status_job) makes a session per rank, disposes
#   CREATE/POSTCREATE to rank 1's, and holds one CREATE unanswered.
#   Meanwhile `pdm sessions --json` shows both sessions, rank 1's with one
#   outstanding event, and the dispositions; the human form names them too.
#   Released, the job answers, takes the POSTCREATE and unmounts; the
#   follower then ends by itself having printed both events, `pdm events`
#   prints them again from the logs, and `pdm sessions` says no job is mounted.
# Usage: dm_status.sh DM_STATUS_JOB PDM_CLI MPIEXEC [MPIEXEC_FLAGS...]
# shellcheck source=tests/jobs/lib.sh
source "$(dirname "$0")/lib.sh"
JOB=$PROGRAM
FS=$WORK/fs.conf

make_fs "$FS" 2 64K

say "pdm events --follow waits for a job"
timeout -k 5 "$(budget 150)" "$MPIEXEC" "${MPI_FLAGS[@]}" -n 1 "$PDM" events --follow --json --fs "$FS" \
  >"$WORK/follow.out" 2>"$WORK/follow.err" &
follow_pid=$!
BACKGROUND+=("$follow_pid")

say "the job holds a CREATE event unanswered"
start_mpi job 150 2 "$JOB" "$FS" "$WORK"
job_pid=$LAST_PID
wait_for_file "$WORK/ready" 60 job "$job_pid"

# The job republishes its state within about 0.2 s of a change: poll.
sessions_ok=0
for _ in $(seq 100); do
  run_pdm sessions 30 sessions --json --fs "$FS"
  expect_status sessions 0
  if python3 - "$WORK/sessions.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["mounted"] is True, doc
by_info = {s["info"]: s for s in doc["sessions"]}
assert set(by_info) == {"status-0", "status-1"}, by_info
one = by_info["status-1"]
assert one["node"] == 1 and one["state"] == "active", one
assert one["outstanding"] == 1 and one["undelivered"] == 0, one
assert by_info["status-0"]["outstanding"] == 0, by_info
fs = [f for f in doc["file_systems"] if f["fs"] != "global"][0]
assert fs["dispositions"]["create"] == {"session": one["id"]}, fs
assert fs["dispositions"]["postcreate"] == {"session": one["id"]}, fs
assert sorted(fs["eventlist"]) == ["create", "postcreate"], fs
PY
  then sessions_ok=1; break; fi
  sleep 0.1
done
((sessions_ok)) || { show_output sessions; fail "pdm sessions never showed the job's state"; }

run_pdm sessions_human 30 sessions --fs "$FS"
expect_status sessions_human 0
grep -q "status-1" "$WORK/sessions_human.out" || { show_output sessions_human; fail "no status-1 line"; }
grep -Eq "^create +session [0-9]+" "$WORK/sessions_human.out" || {
  show_output sessions_human; fail "no disposition line for create"; }

# `pdm status`: the view (issue #4, observability), no failure: 2 ranks of 2
# live, rank 0 manages and serves the metadata, volume v is rank v % 2's.
run_pdm status 30 status --json --fs "$FS"
expect_status status 0
python3 - "$WORK/status.out" <<'PY' || { show_output status; fail "pdm status --json shows the wrong view"; }
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["mounted"] is True and doc["epoch"] == 1, doc
assert doc["ranks"] == 2 and doc["members"] == [0, 1] and doc["dead"] == [], doc
assert doc["manager"] == 0 and doc["metadata_server"] == 0, doc
assert doc["volume_owners"] == [0, 1], doc
assert doc["view_changes"] == 0, doc
assert sorted(s["state"] for s in doc["sessions"]) == ["active", "active"], doc
assert doc["kept_async"] == 0, doc  # no asynchronous event raised yet
PY
run_pdm status_human 30 status --fs "$FS"
expect_status status_human 0
grep -q "^view: epoch 1, 2 of 2 ranks live \[0,1\]$" "$WORK/status_human.out" || {
  show_output status_human; fail "pdm status: no view line"; }
grep -q "^sessions: 2 active, 0 orphaned$" "$WORK/status_human.out" || {
  show_output status_human; fail "pdm status: no sessions line"; }
grep -q "^asynchronous events kept at their sources until handed out: 0$" \
  "$WORK/status_human.out" || { show_output status_human; fail "pdm status: no kept events line"; }

say "released, the job finishes"
: >"$WORK/go"
wait_job job "$job_pid" 60
expect_status job 0

say "the follower ended with the job and printed both events"
wait_job follow "$follow_pid" 30
expect_status follow 0
check_events() {
  python3 - "$1" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
kinds = [e["event"] for e in events]
assert kinds == ["create", "postcreate"], kinds
create, post = events
assert create["token"] != 0 and post["token"] == 0, events
assert create["name1"] == "a" and post["name1"] == "a", events
assert create["source"] == 0 and create["session"] == post["session"], events
PY
}
check_events "$WORK/follow.out" || { show_output follow; fail "pdm events --follow printed the wrong events"; }

run_pdm events 30 events --json --fs "$FS"
expect_status events 0
check_events "$WORK/events.out" || { show_output events; fail "pdm events printed the wrong events"; }

run_pdm events_human 30 events --fs "$FS"
expect_status events_human 0
grep -Eq "session [0-9]+ +create .*name \"a\"" "$WORK/events_human.out" || {
  show_output events_human; fail "pdm events: no create line"; }

run_pdm unmounted 30 sessions --fs "$FS"
expect_status unmounted 0
grep -q "no job has the file system mounted" "$WORK/unmounted.out" || {
  show_output unmounted; fail "pdm sessions does not say that no job has it mounted"; }
run_pdm status_unmounted 30 status --fs "$FS"
expect_status status_unmounted 0
grep -q "no job has the file system mounted" "$WORK/status_unmounted.out" || {
  show_output status_unmounted; fail "pdm status does not say that no job has it mounted"; }
say "ok"
