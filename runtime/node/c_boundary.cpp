#include "runtime/node/c_boundary.h"

namespace pdm::cboundary {
namespace {
thread_local std::string t_last_error;
}

int fail(const Error &error) {
  try {
    t_last_error = error.message;
  } catch (...) {
    t_last_error.clear();
  }
  errno = error.code;
  return -1;
}

const char *last_error() {
  return t_last_error.c_str();
}

}  // namespace pdm::cboundary
