// The C boundary of pdm (<pdm/pdm.h>, <pdm/dmapi.h>): the one place where an
// Error becomes -1 + errno (+ the text pdm_last_error() returns), and where
// every exception stops, so none crosses extern "C".
#pragma once

#include <cerrno>
#include <exception>
#include <new>
#include <string>

#include "runtime/base/result.h"

namespace pdm::cboundary {

// Records the error for pdm_last_error() and sets errno; returns -1.
int fail(const Error &error);
const char *last_error();

inline int to_int(const Status &status) {
  return status.ok() ? 0 : fail(status.error());
}

// Runs an API body and turns any escaping exception into errno.
template <typename Body>
auto guarded(Body body, decltype(body()) on_error) noexcept -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    fail(Error{ENOMEM, "out of memory"});
  } catch (const std::exception &e) {
    fail(Error{EIO, e.what()});
  } catch (...) {
    fail(Error{EIO, "unexpected failure"});
  }
  return on_error;
}

}  // namespace pdm::cboundary
