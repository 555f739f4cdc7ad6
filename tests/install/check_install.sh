#!/usr/bin/env bash
# Installs a pdm build into a scratch prefix P and checks it as an outside user
# would: the layout of P, pdm.pc, the CMake package, and two consumer programs
# (mpicc + pkg-config, and find_package(pdm)) run under mpiexec; then the
# DMAPI port tests, the MPI-IO shim and its transparent recall, built against
# the installed libraries.
#
#   check_install.sh <source dir> <build dir>
#
# Run by ctest as install_consumer. PDM_KEEP_INSTALL=1 keeps the scratch dir.
# To add a check: write a check_* function and call it at the bottom.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 <source dir> <build dir>" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
here="$src/tests/install"
cmake_cmd=${PDM_CMAKE:-cmake}
mpicc=${PDM_MPICC:-mpicc}
mpiexec=${PDM_MPIEXEC:-mpiexec}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pdm-install-XXXXXX")
prefix="$tmp/prefix"
cleanup() {
  if [[ "${PDM_KEEP_INSTALL:-0}" == 1 ]]; then
    echo "install: kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

fail() { echo "install: FAIL: $*" >&2; exit 1; }
step() { echo "install: $*"; }

mpiexec_flags=(--oversubscribe --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
[[ "$(id -u)" == 0 ]] && mpiexec_flags+=(--allow-run-as-root)

# Every shared library a binary needs resolves (the installed ones via RPATH).
require_linked() {
  local bin=$1 missing
  missing=$(ldd "$bin" | grep 'not found' || true)
  [[ -z "$missing" ]] || fail "$bin: unresolved libraries: $missing"
}

# A binary loads libpdm from the install prefix, not from the build tree.
require_installed_libpdm() {
  local bin=$1 where
  where=$(ldd "$bin" | awk '$1 ~ /^libpdm\.so/ {print $3}')
  [[ -n "$where" ]] || fail "$bin does not link libpdm"
  [[ "$(readlink -f "$where")" == "$(readlink -f "$prefix/lib")"/* ]] ||
    fail "$bin loads libpdm from $where, not from $prefix/lib"
}

# An ASan build (PDM_ASAN) installs libraries that need the ASan runtime. The
# consumers are then built with -fsanitize=address, as an outside program
# that links instrumented libraries must be: the runtime comes first in the
# link, so it is loaded before libmpi_cxx's constructors run instrumented
# code in libpdm. (Preloading it into consumers built without it instead
# made the shim's mpiio_basic hang at exit: libp11-kit's destructor waited in
# freelocale for glibc's locale lock.) Empty for other builds.
sanitizer_cflags() {
  if ldd "$prefix/lib/libpdm.so" | grep -q '^[[:space:]]*libasan\.so'; then
    echo "-fsanitize=address"
  fi
}

run_mpi() {
  step "mpiexec -n 2 $*"
  "$mpiexec" "${mpiexec_flags[@]}" -n 2 "$@" || fail "$* exited with $?"
}

check_install_tree() {
  step "cmake --install $build --prefix $prefix"
  "$cmake_cmd" --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log" >&2; fail "cmake --install"; }
  local files=(include/pdm/pdm.h lib/libpdm.so lib/pkgconfig/pdm.pc
               lib/cmake/pdm/pdmConfig.cmake lib/cmake/pdm/pdmConfigVersion.cmake
               lib/cmake/pdm/pdmTargets.cmake)
  # The CLI is checked only once this build has it.
  if [[ -e "$build/apps/pdm/pdm" ]]; then
    files+=(bin/pdm)
  else
    step "no $build/apps/pdm/pdm in this build: not checking bin/pdm"
  fi
  local f
  for f in "${files[@]}"; do
    [[ -e "$prefix/$f" ]] || fail "missing $prefix/$f (installed: $(cd "$prefix" && find . -type f | sort | tr '\n' ' '))"
  done
  require_linked "$prefix/lib/libpdm.so"
  if [[ -e "$prefix/bin/pdm" ]]; then
    require_linked "$prefix/bin/pdm"
    require_installed_libpdm "$prefix/bin/pdm"
  fi
  step "layout ok: ${files[*]}"
}

check_pkg_config() {
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  local version pc_prefix flags
  pkg-config --exists --print-errors pdm || fail "pkg-config cannot use pdm.pc"
  pc_prefix=$(pkg-config --variable=prefix pdm)
  [[ "$pc_prefix" == "$prefix" ]] || fail "pdm.pc: prefix=$pc_prefix, expected $prefix"
  version=$(pkg-config --modversion pdm)
  grep -q "PACKAGE_VERSION \"$version\"" "$prefix/lib/cmake/pdm/pdmConfigVersion.cmake" ||
    fail "pdm.pc version $version differs from the CMake package's"
  flags=$(pkg-config --cflags --libs pdm)
  [[ " $flags " == *" -I$prefix/include "* ]] || fail "pkg-config --cflags: no -I$prefix/include in: $flags"
  [[ " $flags " == *" -L$prefix/lib "* && " $flags " == *" -lpdm "* ]] ||
    fail "pkg-config --libs: no -L$prefix/lib -lpdm in: $flags"
  step "pdm.pc ok: version $version, $flags"

  step "$mpicc consumer.c \$(pkg-config --cflags --libs pdm)"
  # shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
  "$mpicc" -Wall -Wextra -Werror $(sanitizer_cflags) -o "$tmp/c_consumer" "$here/consumer.c" $flags ||
    fail "building consumer.c with pkg-config flags"
  require_installed_libpdm "$tmp/c_consumer"
  run_mpi "$tmp/c_consumer"
}

check_cmake_package() {
  step "cmake consumer: find_package(pdm) with CMAKE_PREFIX_PATH=$prefix"
  "$cmake_cmd" -S "$here/cmake_consumer" -B "$tmp/cmake_consumer" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$(sanitizer_cflags)" >"$tmp/cmake_consumer.log" 2>&1 ||
    { cat "$tmp/cmake_consumer.log" >&2; fail "configuring cmake_consumer"; }
  "$cmake_cmd" --build "$tmp/cmake_consumer" >>"$tmp/cmake_consumer.log" 2>&1 ||
    { cat "$tmp/cmake_consumer.log" >&2; fail "building cmake_consumer"; }
  require_installed_libpdm "$tmp/cmake_consumer/cmake_consumer"
  run_mpi "$tmp/cmake_consumer/cmake_consumer"
}

# The port-style DMAPI tests (tests/dmapi/*.c) are C99 programs written as an
# outside DM application is: each must build from the installed headers and
# library through pdm.pc alone, strictly. ctest runs them from the build tree
# (and under the sanitizers); here dmapi_events also runs from the install,
# on a file system the installed `pdm` makes.
check_dmapi_port_tests() {
  local flags test name
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs pdm)
  for test in "$src"/tests/dmapi/*.c; do
    name=$(basename "$test" .c)
    step "$mpicc -std=c99 -pedantic -Werror $name.c \$(pkg-config --cflags --libs pdm)"
    # shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
    "$mpicc" -std=c99 -pedantic -Wall -Werror $(sanitizer_cflags) -o "$tmp/$name" "$test" $flags -lpthread ||
      fail "building $name.c as an outside program with the pkg-config flags"
    require_installed_libpdm "$tmp/$name"
  done
  [[ -e "$prefix/bin/pdm" ]] || { step "no installed pdm: not running dmapi_events"; return; }
  step "run_with_fs.sh: the installed pdm and dmapi_events, 4 ranks"
  bash "$src/tests/dmapi/run_with_fs.sh" "$prefix/bin/pdm" "$mpiexec" 4 "$tmp/dmapi_events" \
    "${mpiexec_flags[@]}" || fail "dmapi_events (installed) exited with $?"
}

# The MPI-IO shim (issue #5): mpiio_basic.c, a plain MPI-IO program, linked
# with the installed libpdm-mpiio (before libmpi: mpicc puts -lmpi last) and
# run on a file system the installed `pdm` makes, PDM_FS set (run_shim.sh).
check_mpiio_shim() {
  [[ -e "$prefix/lib/libpdm-mpiio.so" ]] || fail "missing $prefix/lib/libpdm-mpiio.so"
  [[ -e "$prefix/lib/libpdm-mpiio-preload.so" ]] || fail "missing $prefix/lib/libpdm-mpiio-preload.so"
  # The shim's recall agent reads HDF5 archives through bin/pdm-hsm-fetch,
  # which libpdm-hsm looks for at <libdir>/../bin.
  if [[ -e "$build/apps/hsm/pdm-hsm-fetch" ]]; then
    [[ -x "$prefix/bin/pdm-hsm-fetch" ]] || fail "missing $prefix/bin/pdm-hsm-fetch"
    "$prefix/bin/pdm-hsm-fetch" --help | grep -q '^Usage: pdm-hsm-fetch' ||
      fail "the installed pdm-hsm-fetch does not run"
    step "bin/pdm-hsm-fetch ok"
  fi
  [[ -e "$prefix/bin/pdm" ]] || { step "no installed pdm: not running mpiio_basic"; return; }
  local flags
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs pdm)
  step "$mpicc mpiio_basic.c -lpdm-mpiio \$(pkg-config --cflags --libs pdm)"
  # shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
  "$mpicc" -std=c99 -pedantic -Wall -Werror $(sanitizer_cflags) -o "$tmp/mpiio_basic" "$src/tests/mpiio/mpiio_basic.c" \
    -L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lpdm-mpiio $flags ||
    fail "building mpiio_basic.c against the installed libpdm-mpiio"
  local where
  where=$(ldd "$tmp/mpiio_basic" | awk '$1 ~ /^libpdm-mpiio\.so/ {print $3}')
  [[ "$(readlink -f "$where")" == "$(readlink -f "$prefix/lib")"/* ]] ||
    fail "mpiio_basic loads libpdm-mpiio from $where, not from $prefix/lib"
  step "run_shim.sh: the installed pdm and mpiio_basic, 4 ranks"
  bash "$src/tests/mpiio/run_shim.sh" "$prefix/bin/pdm" "$mpiexec" 4 "$tmp/mpiio_basic" -- \
    "${mpiexec_flags[@]}" || fail "mpiio_basic (installed) exited with $?"
}

# Transparent recall through the installed shim (docs/MPIIO.md, Recall):
# mpiio_recall.c and the parallel HDF5 program built against the installed
# libpdm-mpiio, an HDF5 archive, recall.sh with the installed pdm and
# pdm-hsm. The shim's agent must find the installed bin/pdm-hsm-fetch from
# the installed libpdm-hsm (<libdir>/../bin).
check_mpiio_recall() {
  [[ -e "$prefix/bin/pdm" && -e "$prefix/bin/pdm-hsm" && -e "$prefix/bin/pdm-hsm-fetch" ]] ||
    { step "no installed pdm, pdm-hsm and pdm-hsm-fetch: not running recall.sh"; return; }
  local flags hdf5
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs pdm)
  hdf5=$(pkg-config --cflags --libs hdf5-openmpi)
  step "$mpicc mpiio_recall.c, mpiio_hdf5.c -lpdm-mpiio (installed)"
  # shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
  "$mpicc" -std=c99 -pedantic -Wall -Werror $(sanitizer_cflags) -o "$tmp/mpiio_recall" \
    "$src/tests/mpiio/mpiio_recall.c" -L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lpdm-mpiio $flags ||
    fail "building mpiio_recall.c against the installed libpdm-mpiio"
  # shellcheck disable=SC2046,SC2086
  "$mpicc" -std=c99 -pedantic -Wall -Werror $(sanitizer_cflags) -o "$tmp/mpiio_hdf5" "$src/tests/mpiio/mpiio_hdf5.c" \
    -L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lpdm-mpiio $flags $hdf5 ||
    fail "building mpiio_hdf5.c against the installed libpdm-mpiio"
  step "recall.sh: the installed shim recalls from an HDF5 archive, 4 ranks"
  env -u PDM_HSM_FETCH ARCHIVE_TYPE=hdf5 PDM_HSM="$prefix/bin/pdm-hsm" \
    PDM_MPIIO_HDF5="$tmp/mpiio_hdf5" bash "$src/tests/mpiio/recall.sh" "$tmp/mpiio_recall" \
    "$prefix/bin/pdm" "$mpiexec" "${mpiexec_flags[@]}" ||
    fail "recall.sh (installed) exited with $?"
}

check_install_tree
check_pkg_config
check_cmake_package
check_dmapi_port_tests
check_mpiio_shim
check_mpiio_recall
step "all checks passed"
