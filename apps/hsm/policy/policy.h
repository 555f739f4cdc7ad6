// Policy: which files a migration selects, written in a small language:
//
//   size > 1M and mtime < -7d and path ~ "/proj/**"
//   not state == migrated and (owner == "alice" or size >= 10G)
//
// Terms compare one attribute of a file with a literal:
//   size   bytes, with K/M/G/T suffixes (powers of 1024)      < <= > >= == !=
//   atime, mtime  a time relative to now ("-7d": seven days ago; units s, m,
//          h, d, w) or absolute ("2026-01-31", "2026-01-31T12:00:00"); "<"
//          means older than                                     < <= > >= == !=
//   path   a glob over the whole path: * (within a component), ** (any
//          number of components), ?, [...]                      ~ (matches) !~
//   owner  a user name or a numeric uid                         == !=
//   state  resident, premigrated, migrated                      == !=
// combined with and, or, not and parentheses (not > and > or).
//
// A syntax error is EINVAL with the column and what was expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "apps/hsm/file_state.h"
#include "runtime/base/result.h"

namespace pdm::hsm {

// What a policy can look at: filled from the inode and the HSM state.
struct FileFacts {
  std::string path;
  std::uint64_t size = 0;
  std::int64_t atime_ns = 0;  // since the epoch
  std::int64_t mtime_ns = 0;
  std::uint32_t uid = 0;
  FileState state = FileState::kResident;
};

class Policy {
 public:
  // Relative times are taken against `now`.
  static Result<Policy> parse(std::string_view text, std::chrono::system_clock::time_point now =
                                                         std::chrono::system_clock::now());
  bool matches(const FileFacts &file) const;
  // The policy as parsed, fully parenthesised (for logs and --dry-run).
  std::string describe() const;

  struct Node;  // the parsed expression (policy.cpp)

 private:
  explicit Policy(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
  std::shared_ptr<const Node> root_;
};

}  // namespace pdm::hsm
