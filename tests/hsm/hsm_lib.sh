# What the pdm-hsm job scenarios share (hsm_cli.sh, gone_events.sh), sourced
# after tests/jobs/lib.sh: pdm-hsm from PDM_HSM, run on the scenario's
# file system $FS, and a check of a job's output.
[[ -x ${PDM_HSM:-} ]] || fail "PDM_HSM must name the pdm-hsm executable"

hsm() {  # hsm NAME RANKS ARGS...: pdm-hsm ARGS --fs $FS on RANKS ranks
  local name=$1 ranks=$2
  shift 2
  run_mpi "$name" 120 "$ranks" "$PDM_HSM" "$@" --fs "$FS"
}
expect_line() {  # expect_line NAME REGEX: some line of NAME's stdout matches
  grep -Eq "$2" "$WORK/$1.out" || { show_output "$1"; fail "$1: no line matches '$2'"; }
}
