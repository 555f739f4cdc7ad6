#include "apps/mpiio/real_mpi.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace pdm::mpiio {

void *resolve_real(const char *symbol) {
  void *real = dlsym(RTLD_NEXT, symbol);
  if (real == nullptr) {
    std::fprintf(stderr, "pdm-mpiio: %s not found after the shim (is libmpi loaded?): %s\n", symbol,
                 dlerror());
    std::abort();
  }
  return real;
}

}  // namespace pdm::mpiio
