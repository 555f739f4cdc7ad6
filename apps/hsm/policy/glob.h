// Path globs for the policy language (`path ~ "/proj/**/*.dat"`), matched
// against the whole path:
//   *      any run of characters within one component (not '/')
//   **     any run of characters, '/' included; "/**/" also matches "/"
//          (zero components), so "/a/**/b" matches "/a/b"
//   ?      one character other than '/'
//   [...]  one character (not '/') of a set: ranges "a-z", negation "[!...]"
//          or "[^...]", a ']' first in the set is literal
//   \c     the character c itself
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/base/result.h"

namespace pdm::hsm {

class Glob {
 public:
  // EINVAL for an unterminated [...] or a trailing '\'; the message gives
  // the 0-based offset in the pattern as "at offset N".
  static Result<Glob> compile(std::string_view pattern);
  // Offset of the first syntax error, for callers that report columns.
  static std::size_t error_offset(std::string_view pattern);

  bool matches(std::string_view path) const;
  const std::string &pattern() const { return pattern_; }

 private:
  explicit Glob(std::string pattern) : pattern_(std::move(pattern)) {}
  std::string pattern_;
};

}  // namespace pdm::hsm
