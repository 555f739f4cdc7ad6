#!/usr/bin/env bash
# Builds pdm (scripts/setup.sh, which first installs missing packages) and runs
# the test suite with ctest. Extra arguments go to ctest; the exit code is ctest's.
#
#   scripts/test.sh [ctest args...]     e.g. scripts/test.sh -R unit_
#   scripts/test.sh --env               print the Open MPI settings as export lines,
#                                       for tests run by hand: eval "$(scripts/test.sh --env)"
#   scripts/test.sh --failure-flags     print the extra mpirun flags of failure tests
#                                       (tests/failure; see docs/FAILURES.md)
#   scripts/test.sh --help
#
# Environment: PDM_BUILD_DIR (default build), PDM_CMAKE_ARGS, CI (see setup.sh).
# Tests run one at a time (-j1): each MPI test already oversubscribes the 2 cores.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

# Open MPI 4.1: keep all traffic on loopback, allow more ranks than cores, and
# (as root, e.g. in CI containers) allow mpirun at all. Values already set win.
mpi_env() {
  : "${OMPI_MCA_btl_tcp_if_include:=lo}"
  : "${OMPI_MCA_oob_tcp_if_include:=lo}"
  : "${OMPI_MCA_rmaps_base_oversubscribe:=1}"
  export OMPI_MCA_btl_tcp_if_include OMPI_MCA_oob_tcp_if_include OMPI_MCA_rmaps_base_oversubscribe
  if [[ "$(id -u)" == 0 ]]; then
    : "${OMPI_ALLOW_RUN_AS_ROOT:=1}"
    : "${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:=1}"
    export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
  fi
}

# Failure tests: survivors keep running after a rank dies (--enable-recovery),
# and over TCP their MPI_Finalize returns (with vader it hangs, docs/FAILURES.md).
failure_flags="--enable-recovery --mca btl tcp,self"

for arg in "$@"; do
  case "$arg" in
    --help) usage; exit 0 ;;
    --failure-flags) echo "$failure_flags"; exit 0 ;;
  esac
done
mpi_env
if [[ "${1:-}" == --env ]]; then
  for var in OMPI_MCA_btl_tcp_if_include OMPI_MCA_oob_tcp_if_include \
             OMPI_MCA_rmaps_base_oversubscribe OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM; do
    [[ -n "${!var:-}" ]] && echo "export $var=${!var}"
  done
  exit 0
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh

build_dir=${PDM_BUILD_DIR:-build}
echo "test: ctest --test-dir $build_dir --output-on-failure -j1 --timeout 900 $*"
rc=0
ctest --test-dir "$build_dir" --output-on-failure -j1 --timeout 900 "$@" || rc=$?
echo "test: ctest exit code $rc"
exit "$rc"
