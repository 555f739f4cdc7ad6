// What the unit tests of the stores share: a scratch directory removed at
// the end of the test, and must(), which unwraps a Result (or checks a
// Status) that has to succeed and otherwise ends the test with the error
// and the call site.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <source_location>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "runtime/base/result.h"

namespace pdm::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pdm-unit-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

template <typename T>
T must(Result<T> result, std::source_location where = std::source_location::current()) {
  if (!result.ok()) {
    throw std::runtime_error(fmt::format("{}:{}: unexpected error {}: {}", where.file_name(),
                                         where.line(), result.error().code,
                                         result.error().message));
  }
  return std::move(result).value();
}

inline void must(Status status, std::source_location where = std::source_location::current()) {
  if (!status.ok()) {
    throw std::runtime_error(fmt::format("{}:{}: unexpected error {}: {}", where.file_name(),
                                         where.line(), status.error().code,
                                         status.error().message));
  }
}

// The errno of a failed Result or Status; 0 for success.
template <typename R>
int code_of(const R &result) {
  return result.ok() ? 0 : result.error().code;
}

}  // namespace pdm::test
