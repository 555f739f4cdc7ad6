// Result<T>: a value or an Error (errno code + message). Every fallible call
// inside pdm returns one; the C API turns the Error into -1/errno in exactly
// one place (pfs/api), the MPI-IO shim into MPI_ERR_* codes.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace pdm {

struct Error {
  int code = EIO;       // a POSIX errno value
  std::string message;  // names the thing and the cause
};

// Builds an Error with a formatted message: make_error(ENOENT, "{}: no such file", path).
template <typename... Args>
Error make_error(int code, fmt::format_string<Args...> format, Args &&...args) {
  return Error{code, fmt::format(format, std::forward<Args>(args)...)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T &value() & { return std::get<0>(state_); }
  const T &value() const & { return std::get<0>(state_); }
  T &&value() && { return std::get<0>(std::move(state_)); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }

  const Error &error() const & { return std::get<1>(state_); }
  Error &&error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error &error() const & { return error_; }
  Error &&error() && { return std::move(error_); }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

inline Status ok_status() {
  return {};
}

}  // namespace pdm

// Propagates an error from an expression returning Result/Status.
#define PDM_TRY(expr)                                                     \
  do {                                                                    \
    auto pdm_try_result_ = (expr);                                        \
    if (!pdm_try_result_.ok()) return std::move(pdm_try_result_).error(); \
  } while (0)

#define PDM_CONCAT_INNER_(a, b) a##b
#define PDM_CONCAT_(a, b) PDM_CONCAT_INNER_(a, b)
// Declares `lhs` from the value of a Result expression, or returns its error.
#define PDM_ASSIGN_OR_RETURN(lhs, expr) \
  PDM_ASSIGN_OR_RETURN_IMPL_(PDM_CONCAT_(pdm_result_, __LINE__), lhs, expr)
#define PDM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).error();    \
  lhs = std::move(tmp).value()
