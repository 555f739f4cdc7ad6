#!/usr/bin/env bash
# The pdm command end to end, as a user runs it: alone and under mpiexec.
#
#   cli_test.sh <pdm> <mpiexec> [mpiexec flags...]
#
# Runs the check_* functions named in CLI_CHECKS (all of them when unset);
# ctest runs each as its own test (tests/cli/CMakeLists.txt). Every check
# compares exit codes and outputs, so that each can fail.
# PDM_KEEP_CLI=1 keeps the scratch directory.
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 <pdm> <mpiexec> [mpiexec flags...]" >&2
  exit 2
fi
pdm_bin=$1
mpiexec_bin=$2
shift 2
mpiexec_flags=("$@")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pdm-cli-XXXXXX")
cleanup() {
  if [[ "${PDM_KEEP_CLI:-0}" == 1 ]]; then
    echo "cli: kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
cd "$tmp"
unset PDM_FS

fail() {
  echo "cli: FAIL: $*" >&2
  echo "--- exit code: ${rc:-}" >&2
  echo "--- stdout:" >&2
  cat "$tmp/out" >&2 2>/dev/null || true
  echo "--- stderr:" >&2
  cat "$tmp/err" >&2 2>/dev/null || true
  exit 1
}
step() { echo "cli: $*"; }

# run CMD...: runs a command, never stopping the script; sets rc, out, err.
run() {
  set +e
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  set -e
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}
pdm() { run "$pdm_bin" "$@"; }
# pdm_n N ARGS...: under mpiexec with N ranks.
pdm_n() {
  local n=$1
  shift
  run "$mpiexec_bin" "${mpiexec_flags[@]}" -n "$n" "$pdm_bin" "$@"
}

expect_rc() { [[ "$rc" == "$1" ]] || fail "$2: exit code $rc, expected $1"; }
expect_failure() { [[ "$rc" != 0 ]] || fail "$1: succeeded, expected a failure"; }
expect_out() { [[ "$out" == "$1" ]] || fail "$2: stdout is not '$1'"; }
expect_out_has() { grep -qF -- "$1" "$tmp/out" || fail "$2: stdout lacks '$1'"; }
expect_out_matches() { grep -qE -- "$1" "$tmp/out" || fail "$2: no stdout line matches '$1'"; }
expect_err_has() { grep -qiF -- "$1" "$tmp/err" || fail "$2: stderr lacks '$1'"; }
expect_err_starts_pdm() {
  grep -q '^pdm: ' "$tmp/err" || fail "$1: no stderr line starts with 'pdm: '"
}
expect_quiet() {
  [[ -z "$out" && -z "$err" ]] || fail "$1: expected no output"
}

# A file system with 4 volumes and 64 KiB stripes in $tmp/<name>.
make_fs() {
  local name=$1
  pdm mkfs "$tmp/$name.conf" --stripe-size 64K \
    --volume "$tmp/$name-v0" --volume "$tmp/$name-v1" \
    --volume "$tmp/$name-v2" --volume "$tmp/$name-v3"
  expect_rc 0 "mkfs $name"
  export PDM_FS="$tmp/$name.conf"
}

commands=(mkfs put get cat ls stat mkdir rm mv truncate df fsck)

check_help() {
  step "pdm --help, --version, and every command's --help"
  pdm --help
  expect_rc 0 "pdm --help"
  for command in "${commands[@]}"; do
    expect_out_matches "^  $command " "pdm --help lists $command"
  done
  pdm --version
  expect_rc 0 "pdm --version"
  expect_out_matches '^pdm [0-9]+\.[0-9]+\.[0-9]+$' "pdm --version"
  pdm
  expect_rc 2 "pdm without a command"
  expect_err_has "Usage: pdm COMMAND" "pdm without a command"
  pdm frobnicate
  expect_rc 2 "unknown command"
  expect_err_has "pdm: 'frobnicate' is not a pdm command" "unknown command"

  declare -A options=(
    [mkfs]="--volume --stripe-size"
    [put]="--fs --verbose --chunk-size"
    [get]="--fs --verbose --chunk-size"
    [cat]="--fs"
    [ls]="--fs --long"
    [stat]="--fs"
    [mkdir]="--fs --parents"
    [rm]="--fs --dir --force"
    [mv]="--fs --no-target-directory"
    [truncate]="--fs"
    [df]="--fs --bytes"
    [fsck]="--fs"
  )
  for command in "${commands[@]}"; do
    pdm "$command" --help
    expect_rc 0 "pdm $command --help"
    expect_out_has "Usage: pdm $command " "pdm $command --help"
    for option in ${options[$command]} --help --log-level --meta-map-size --io-max-request; do
      expect_out_has "$option" "pdm $command --help"
    done
    [[ -z "$err" ]] || fail "pdm $command --help: wrote to stderr"
  done
  # --help needs no MPI, also in the middle of other arguments.
  pdm put a b -h
  expect_rc 0 "pdm put a b -h"
  expect_out_has "Usage: pdm put " "pdm put a b -h"
}

check_usage_errors() {
  step "usage errors exit 2 with a clear message"
  pdm ls /
  expect_rc 2 "ls without --fs or PDM_FS"
  expect_err_has "pdm: ls: no file system given: pass --fs FS or set PDM_FS" "ls without a fs"
  run env PDM_FS= "$pdm_bin" ls /
  expect_rc 2 "ls with an empty PDM_FS"
  expect_err_has "no file system given" "ls with an empty PDM_FS"
  export PDM_FS="$tmp/never.conf"
  pdm ls / /
  expect_rc 2 "ls with two paths"
  expect_err_has "too many arguments" "ls with two paths"
  pdm put onlyone
  expect_rc 2 "put with one argument"
  expect_err_has "missing arguments; usage: pdm put [options] LOCAL PATH" "put with one argument"
  pdm ls --no-such-option
  expect_rc 2 "an unknown option"
  expect_err_has "no-such-option" "an unknown option"
  pdm ls --log-level loud
  expect_rc 2 "a bad setting value"
  expect_err_has "log.level" "a bad setting value"
  pdm truncate /f 12parsecs
  expect_rc 2 "truncate to a non-size"
  expect_err_has "'12parsecs' is not a size" "truncate to a non-size"
  pdm mkfs "$tmp/x.conf"
  expect_rc 2 "mkfs without volumes"
  expect_err_has "--volume" "mkfs without volumes"
  pdm mkfs "$tmp/x.conf" --volume "$tmp/x0" --stripe-size 3K
  expect_rc 2 "mkfs with a bad stripe size"
  expect_err_has "multiple of 4 KiB" "mkfs with a bad stripe size"
  [[ ! -e "$tmp/x.conf" && ! -e "$tmp/x0" ]] || fail "a refused mkfs left files behind"
  # A file system that does not exist is no usage error, but a failure.
  pdm ls /
  expect_rc 1 "ls of a missing fs config"
  expect_err_has "$tmp/never.conf" "ls of a missing fs config"
  expect_err_has "pdm mkfs" "ls of a missing fs config"
  expect_err_starts_pdm "ls of a missing fs config"
}

check_mkfs() {
  step "mkfs creates, and refuses what it must"
  pdm mkfs "$tmp/a.conf" --volume "$tmp/a0" --volume "$tmp/a1"
  expect_rc 0 "mkfs"
  expect_out_has "created file system" "mkfs"
  expect_out_has "2 volumes, stripe size 1 MiB" "mkfs"
  [[ -f "$tmp/a.conf" && -f "$tmp/a0/pdm-volume" && -f "$tmp/a1/pdm-volume" ]] ||
    fail "mkfs did not create the config and volume headers"

  pdm mkfs "$tmp/a.conf" --volume "$tmp/b0"
  expect_failure "mkfs over an existing config"
  expect_err_starts_pdm "mkfs over an existing config"
  expect_err_has "$tmp/a.conf" "mkfs over an existing config"
  expect_err_has "already exists" "mkfs over an existing config"
  [[ ! -e "$tmp/b0" ]] || fail "a refused mkfs created a volume"

  mkdir "$tmp/full" && echo data >"$tmp/full/file"
  pdm mkfs "$tmp/c.conf" --volume "$tmp/full"
  expect_failure "mkfs on a non-empty volume"
  expect_err_has "$tmp/full" "mkfs on a non-empty volume"
  expect_err_has "not empty" "mkfs on a non-empty volume"
  [[ ! -e "$tmp/c.conf" ]] || fail "a refused mkfs wrote its config"

  pdm mkfs "$tmp/d.conf" --volume "$tmp/dup" --volume "$tmp/dup/"
  expect_failure "mkfs with a volume given twice"
  expect_err_has "same directory" "mkfs with a volume given twice"
  [[ ! -e "$tmp/d.conf" && ! -e "$tmp/dup" ]] || fail "a refused mkfs left files behind"

  pdm mkfs "$tmp/e.conf" --volume "$tmp/a0"
  expect_failure "mkfs on a volume of another file system"
  expect_err_has "$tmp/a0" "mkfs on a volume of another file system"

  # Under mpiexec, rank 0 makes it and says so once; the others agree on the exit code.
  pdm_n 2 mkfs "$tmp/f.conf" --volume "$tmp/f0"
  expect_rc 0 "mkfs under mpiexec"
  [[ $(grep -c "created file system" "$tmp/out") == 1 ]] || fail "mkfs under mpiexec: not one line"
  pdm_n 2 mkfs "$tmp/f.conf" --volume "$tmp/f1"
  expect_failure "a refused mkfs under mpiexec"
  [[ $(grep -c "already exists" "$tmp/err") == 1 ]] ||
    fail "a refused mkfs under mpiexec: not one error line"
}

check_put_get() {
  step "put and get of a 20 MiB file under mpiexec -n 4"
  make_fs io
  head -c $((20 << 20)) /dev/urandom >"$tmp/big"
  # 1 MiB chunks: each of the 4 ranks copies 5 of the 20.
  pdm_n 4 put --chunk-size 1M "$tmp/big" /big
  expect_rc 0 "put"
  expect_quiet "put without -v"
  pdm_n 4 get --chunk-size 1M /big "$tmp/big.back"
  expect_rc 0 "get"
  expect_quiet "get without -v"
  cmp "$tmp/big" "$tmp/big.back" || fail "get returned other bytes than put stored"

  # The default chunk (64 MiB) makes one chunk: rank 0 copies it alone.
  pdm_n 4 put -v "$tmp/big" /big.again
  expect_rc 0 "put -v"
  [[ -z "$out" ]] || fail "put -v wrote to stdout"
  expect_err_has "put $tmp/big -> /big.again: 20971520 bytes in" "put -v"
  expect_err_has "MiB/s" "put -v"
  pdm_n 4 get --verbose /big.again "$tmp/big.again"
  expect_rc 0 "get -v"
  expect_err_has "get /big.again -> $tmp/big.again: 20971520 bytes in" "get -v"
  cmp "$tmp/big" "$tmp/big.again" || fail "get (one chunk) returned other bytes"

  # put over an existing file replaces it; into a directory keeps the name.
  printf 'short\n' >"$tmp/short"
  pdm put "$tmp/short" /big.again
  expect_rc 0 "put over a longer file"
  pdm mkdir /dir
  pdm put "$tmp/short" /dir
  expect_rc 0 "put into a directory"
  pdm cat /big.again /dir/short
  expect_rc 0 "cat after put"
  expect_out $'short\nshort' "put replaced the content / put into a directory"
  # get into a local directory keeps the name.
  mkdir "$tmp/down"
  pdm get /dir/short "$tmp/down"
  expect_rc 0 "get into a directory"
  cmp "$tmp/short" "$tmp/down/short" || fail "get into a directory"

  pdm put "$tmp/no-such-file" /x
  expect_rc 1 "put of a missing local file"
  expect_err_has "$tmp/no-such-file" "put of a missing local file"
  expect_err_has "No such file or directory" "put of a missing local file"
  pdm get /no-such-file "$tmp/x"
  expect_rc 1 "get of a missing file"
  expect_err_has "/no-such-file" "get of a missing file"
  [[ ! -e "$tmp/x" ]] || fail "a failed get created its destination"
  pdm_n 4 get /dir "$tmp/x"
  expect_rc 1 "get of a directory"
  expect_err_has "is a directory" "get of a directory"
}

check_namespace() {
  step "cat, ls, stat, mkdir, mv, rm, truncate"
  make_fs ns
  printf 'hello\n' >"$tmp/hello"
  printf 'world\n' >"$tmp/world"
  pdm put "$tmp/hello" /hello
  expect_rc 0 "put hello"
  pdm put "$tmp/world" /world
  expect_rc 0 "put world"

  pdm cat /hello /world
  expect_rc 0 "cat"
  expect_out $'hello\nworld' "cat of two files"
  pdm cat /hello /missing /world
  expect_rc 1 "cat with a missing file"
  expect_out $'hello\nworld' "cat goes on after a missing file"
  expect_err_has "pdm: /missing" "cat with a missing file"
  expect_err_has "no such file" "cat with a missing file"

  pdm mkdir -p /a/b/c
  expect_rc 0 "mkdir -p"
  pdm mkdir -p /a/b/c
  expect_rc 0 "mkdir -p of an existing directory"
  pdm mkdir /a
  expect_rc 1 "mkdir of an existing directory"
  expect_err_has "exists" "mkdir of an existing directory"
  pdm mkdir /x/y
  expect_rc 1 "mkdir without its parent"
  expect_err_has "no such file" "mkdir without its parent"
  pdm mkdir /m1 /m2
  expect_rc 0 "mkdir of two directories"

  pdm ls
  expect_rc 0 "ls"
  expect_out $'a\nhello\nm1\nm2\nworld' "ls of the root"
  pdm ls /a/b
  expect_out "c" "ls /a/b"
  # Output from rank 0 only: the same listing under mpiexec.
  pdm_n 4 ls /
  expect_rc 0 "ls under mpiexec"
  expect_out $'a\nhello\nm1\nm2\nworld' "ls under mpiexec"
  pdm ls -l /
  expect_rc 0 "ls -l"
  expect_out_matches '^drwx[-rwx]{6} 3 [0-9]+ [0-9]+ +[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} a$' \
    "ls -l of a directory"
  expect_out_matches '^-rw-[-rw]{6} 1 [0-9]+ [0-9]+ +6 [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} hello$' \
    "ls -l of a file"
  [[ $(wc -l <"$tmp/out") == 5 ]] || fail "ls -l: not 5 lines"
  pdm ls /hello
  expect_out "/hello" "ls of a file"
  pdm ls -l /hello
  expect_out_matches ' 6 [0-9-]+ [0-9:]+ /hello$' "ls -l of a file"
  pdm ls /missing
  expect_rc 1 "ls of a missing path"

  pdm stat /hello /a
  expect_rc 0 "stat"
  expect_out_has "path: /hello" "stat"
  expect_out_has "type: regular file" "stat"
  expect_out_has "size: 6" "stat"
  expect_out_has "nlink: 1" "stat"
  expect_out_has "stripe_size: 65536 (64 KiB)" "stat"
  expect_out_matches '^first_volume: [0-3]$' "stat"
  expect_out_matches '^mtime: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}[+-][0-9]{2}:[0-9]{2}$' \
    "stat times in ISO 8601"
  expect_out_matches '^ino: [0-9]+$' "stat"
  expect_out_has "path: /a" "stat of a directory"
  expect_out_has "type: directory" "stat of a directory"
  expect_out_has "nlink: 3" "stat of a directory"

  step "a path through a file is 'Not a directory'"
  pdm stat /hello/x
  expect_rc 1 "stat through a file"
  expect_err_starts_pdm "stat through a file"
  expect_err_has "not a directory" "stat through a file"
  pdm put "$tmp/hello" /hello/x
  expect_rc 1 "put through a file"
  expect_err_has "not a directory" "put through a file"
  pdm mkdir -p /hello/x
  expect_rc 1 "mkdir -p through a file"
  expect_err_has "not a directory" "mkdir -p through a file"

  step "mv"
  pdm mv /hello /a/b
  expect_rc 0 "mv into a directory"
  pdm ls /a/b
  expect_out $'c\nhello' "mv into a directory"
  pdm mv /a/b/hello /greeting
  expect_rc 0 "mv to a new name"
  pdm cat /greeting
  expect_out "hello" "mv keeps the content"
  pdm mv /greeting /world
  expect_rc 0 "mv over a file"
  pdm cat /world
  expect_out "hello" "mv replaced the file"
  pdm mv -T /m1 /m2
  expect_rc 0 "mv -T onto an empty directory"
  pdm ls /
  expect_out $'a\nm2\nworld' "mv -T"
  pdm mv /missing /x
  expect_rc 1 "mv of a missing file"
  expect_err_has "/missing" "mv of a missing file"

  step "truncate"
  pdm truncate /world 1M
  expect_rc 0 "truncate to grow"
  pdm stat /world
  expect_out_has "size: 1048576" "truncate to grow"
  pdm get /world "$tmp/grown"
  [[ $(stat -c %s "$tmp/grown") == 1048576 ]] || fail "truncate to grow: wrong size"
  [[ $(head -c 6 "$tmp/grown") == "hello" ]] || fail "truncate to grow: lost the data"
  [[ $(tail -c +7 "$tmp/grown" | tr -d '\0' | wc -c) == 0 ]] || fail "truncate: hole is not zeros"
  pdm truncate /world 3
  expect_rc 0 "truncate to shrink"
  pdm cat /world
  expect_out "hel" "truncate to shrink"
  pdm truncate /nothing 10
  expect_rc 1 "truncate of a missing file"

  step "rm"
  pdm rm /world
  expect_rc 0 "rm of a file"
  pdm stat /world
  expect_rc 1 "stat after rm"
  pdm rm /a
  expect_rc 1 "rm of a directory without -d"
  expect_err_has "is a directory" "rm of a directory without -d"
  pdm rm -d /a
  expect_rc 1 "rm -d of a non-empty directory"
  expect_err_has "not empty" "rm -d of a non-empty directory"
  pdm rm -d /a/b/c /m2
  expect_rc 0 "rm -d of empty directories"
  pdm ls /a/b
  expect_out "" "rm -d"
  pdm rm /missing
  expect_rc 1 "rm of a missing file"
  pdm rm -f /missing
  expect_rc 0 "rm -f of a missing file"
}

check_df_fsck() {
  step "df under mpiexec -n 4"
  make_fs df
  head -c $((1 << 20)) /dev/urandom >"$tmp/one"
  pdm put "$tmp/one" /one
  expect_rc 0 "put"
  pdm_n 4 df -b
  expect_rc 0 "df"
  expect_out_matches '^VOLUME +OWNER +OBJECTS +OBJECT-BYTES +FREE +TOTAL +DIRECTORY$' "df header"
  for v in 0 1 2 3; do
    expect_out_matches "^$v +$v +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +$tmp/df-v$v\$" "df volume $v"
  done
  [[ $(grep -cE '^[0-9]' "$tmp/out") == 4 ]] || fail "df: not 4 volume lines"
  # 1 MiB in 64 KiB stripes over 4 volumes: one 256 KiB object on each.
  [[ $(awk '/^[0-9]/ {n += $3} END {print n}' "$tmp/out") == 4 ]] || fail "df: not 4 objects"
  expect_out_has "inodes: 2 (0 unlinked" "df inode count"
  pdm_n 2 df
  expect_out_matches "^2 +0 " "df under -n 2: volume 2 is served by rank 0"
  expect_out_matches "^3 +1 " "df under -n 2: volume 3 is served by rank 1"

  step "fsck"
  pdm_n 2 fsck
  expect_rc 0 "fsck of a clean file system"
  expect_out_has "clean; 0 errors, 0 warnings" "fsck of a clean file system"
  expect_out_has "2 inodes (1 directories, 1 files" "fsck counts"
  [[ $(wc -l <"$tmp/out") == 1 ]] || fail "fsck under mpiexec: output not from rank 0 only"

  # A stray object is a warning: still clean.
  printf 'x' >"$tmp/df-v1/objects/63/0000000000000063"
  pdm fsck
  expect_rc 0 "fsck with a stray object"
  expect_out_has "warning: $tmp/df-v1/objects/63/0000000000000063" "fsck with a stray object"
  expect_out_has "unreferenced object, reclaimable" "fsck with a stray object"

  # A volume header of another file system is an error.
  sed -i 's/^fs_id=.*/fs_id=0123456789abcdef/' "$tmp/df-v3/pdm-volume"
  pdm fsck
  expect_rc 1 "fsck with a foreign volume"
  expect_out_has "error: " "fsck with a foreign volume"
  expect_out_has "$tmp/df-v3" "fsck with a foreign volume"
  expect_out_has "NOT CLEAN; 1 error" "fsck with a foreign volume"

  pdm fsck --fs "$tmp/nowhere.conf"
  expect_rc 2 "fsck of a missing config"
  expect_err_has "$tmp/nowhere.conf" "fsck of a missing config"
}

checks=${CLI_CHECKS:-help usage_errors mkfs put_get namespace df_fsck}
for check in $checks; do
  "check_$check"
done
step "all passed ($checks)"
