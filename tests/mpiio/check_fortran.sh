#!/usr/bin/env bash
# check_fortran.sh PDM FS PLAIN: the pdm file mpiio_fortran wrote holds the
# same bytes as the one the real MPI-IO wrote in PLAIN.
set -euo pipefail
pdm=$1 fs=$2 plain=$3
"$pdm" get --fs "$fs" /fortran.dat "$plain/from_pdm.dat"
cmp "$plain/from_pdm.dat" "$plain/fortran.dat"
