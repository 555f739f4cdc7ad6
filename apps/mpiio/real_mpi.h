// PDM_REAL(MPI_File_open): the real MPI function behind a wrapper.
//
// Link-time build (libpdm-mpiio.so linked before libmpi): the wrappers define
// MPI_*, so PMPI_* is the real function. LD_PRELOAD build
// (libpdm-mpiio-preload.so, PDM_MPIIO_PRELOAD): the wrappers define PMPI_*
// too (aliases, so Fortran bindings, which call PMPI_*, come here as well),
// so the real one is the next PMPI_* in the lookup order, from dlsym(RTLD_NEXT).
#pragma once

#include <mpi.h>

namespace pdm::mpiio {

// dlsym(RTLD_NEXT, symbol); aborts with a message if MPI has no such symbol.
void *resolve_real(const char *symbol);

}  // namespace pdm::mpiio

#ifdef PDM_MPIIO_PRELOAD
#define PDM_REAL(name)                                                               \
  ([] {                                                                              \
    static auto *real =                                                              \
        reinterpret_cast<decltype(&P##name)>(::pdm::mpiio::resolve_real("P" #name)); \
    return real;                                                                     \
  }())
#else
#define PDM_REAL(name) P##name
#endif

// In the LD_PRELOAD build, makes PMPI_x an alias of the wrapper MPI_x.
#ifdef PDM_MPIIO_PRELOAD
#define PDM_PMPI_ALIAS(name) extern "C" decltype(name) P##name __attribute__((alias(#name)));
#else
#define PDM_PMPI_ALIAS(name)
#endif
