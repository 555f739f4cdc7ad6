#!/usr/bin/env bash
# check_hdf5.sh PDM FS PLAIN: after mpiio_hdf5, copies /shim.h5 out of pdm with
# `pdm get`, checks that h5dump reads it and that it holds the same bytes as
# the file the real MPI-IO wrote in PLAIN (native.h5).
set -euo pipefail
pdm=$1 fs=$2 plain=$3
"$pdm" get --fs "$fs" /shim.h5 "$plain/from_pdm.h5"
h5dump "$plain/from_pdm.h5" > "$plain/from_pdm.dump"
grep -q 'DATASET "chunked_independent"' "$plain/from_pdm.dump"
h5dump "$plain/native.h5" > "$plain/native.dump"
cmp "$plain/from_pdm.dump" <(sed "s|$plain/native.h5|$plain/from_pdm.h5|" "$plain/native.dump")
cmp "$plain/from_pdm.h5" "$plain/native.h5"
echo "check_hdf5: h5dump ok, same bytes as the real MPI-IO's file"
