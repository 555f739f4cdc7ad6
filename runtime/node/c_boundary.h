// The C boundary of pdm (<pdm/pdm.h>, <pdm/dmapi.h>): the one place where an
// Error becomes -1 + errno (+ the text pdm_last_error() returns), and where
// every exception stops, so none crosses extern "C".
#pragma once

#include <cerrno>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <type_traits>

#include "runtime/base/result.h"

namespace pdm::cboundary {

// Records the error for pdm_last_error() and sets errno; returns -1.
int fail(const Error &error);
const char *last_error();

inline int to_int(const Status &status) {
  return status.ok() ? 0 : fail(status.error());
}

// The value a C caller passed for an enum parameter, as an integer. C may
// pass any int (dm_right_t 7, say); in C++ loading an enum object holding a
// value outside its enumerators' range is undefined, so the bytes are read
// as the underlying type and only then compared.
template <typename Enum>
requires std::is_enum_v<Enum>
long long c_enum_value(const Enum &value) {
  std::underlying_type_t<Enum> raw;
  std::memcpy(&raw, &value, sizeof raw);
  return static_cast<long long>(raw);
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
