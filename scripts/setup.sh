#!/usr/bin/env bash
# Installs the Debian packages pdm needs (only the missing ones), then configures
# and builds pdm. Safe to run again: with everything installed it only builds.
#
#   scripts/setup.sh [--no-build] [--help]
#
# Environment:
#   PDM_BUILD_DIR   build directory (default: build, relative to the repo root)
#   PDM_CMAKE_ARGS  extra arguments for the cmake configure step, e.g. -DPDM_ASAN=ON
#   CI=true         also configure with -DPDM_WERROR=ON
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config gfortran
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  liblmdb-dev lmdb-utils
  libboost-program-options-dev
  libgtest-dev libgmock-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libxxhash-dev
  clang-format python3
)

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# --- Debian packages ---------------------------------------------------------
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: no dpkg-query (not Debian?): skipping package checks; needs: ${PACKAGES[*]}"
else
  missing=()
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    echo "setup: all ${#PACKAGES[@]} packages installed"
  elif [[ "$(id -u)" == 0 ]]; then
    echo "setup: installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "setup: missing packages; run as root, or:" >&2
    echo "sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

((build)) || { echo "setup: --no-build: done"; exit 0; }

# --- configure and build ------------------------------------------------------
build_dir=${PDM_BUILD_DIR:-build}
cmake_args=(-S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${CI:-}" == true ]]; then
  cmake_args+=(-DPDM_WERROR=ON)
fi
if [[ -n "${PDM_CMAKE_ARGS:-}" ]]; then
  read -r -a extra <<<"$PDM_CMAKE_ARGS"
  cmake_args+=("${extra[@]}")
fi
echo "setup: cmake ${cmake_args[*]}"
cmake "${cmake_args[@]}"
echo "setup: cmake --build $build_dir -j$(nproc)"
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built in $build_dir"
