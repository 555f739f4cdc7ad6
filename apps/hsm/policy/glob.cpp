#include "apps/hsm/policy/glob.h"

#include <vector>

namespace pdm::hsm {
namespace {

constexpr std::size_t kNoError = std::string_view::npos;

// End of the [...] set starting at `open` (the index of the ']'), or npos.
std::size_t set_end(std::string_view p, std::size_t open) {
  std::size_t i = open + 1;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) ++i;
  if (i < p.size() && p[i] == ']') ++i;  // a literal ']' first in the set
  for (; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      ++i;
    } else if (p[i] == ']') {
      return i;
    }
  }
  return std::string_view::npos;
}

// One member of a set at i (an escaped or plain character); advances i.
char set_char(std::string_view p, std::size_t &i, std::size_t close) {
  if (p[i] == '\\' && i + 1 < close) ++i;
  return p[i++];
}

bool set_matches(std::string_view p, std::size_t open, std::size_t close, char c) {
  std::size_t i = open + 1;
  bool negate = false;
  if (p[i] == '!' || p[i] == '^') {
    negate = true;
    ++i;
  }
  const auto uc = static_cast<unsigned char>(c);
  bool found = false;
  while (i < close) {
    const auto low = static_cast<unsigned char>(set_char(p, i, close));
    auto high = low;
    if (i + 1 < close && p[i] == '-') {
      ++i;
      high = static_cast<unsigned char>(set_char(p, i, close));
    }
    if (uc >= low && uc <= high) found = true;
  }
  return found != negate;
}

// Memoised backtracking over (pattern index, path index): linear in their
// product even for patterns with many stars.
class Matcher {
 public:
  Matcher(std::string_view p, std::string_view s)
      : p_(p), s_(s), memo_((p.size() + 1) * (s.size() + 1), 0) {}

  bool match(std::size_t pi, std::size_t si) {
    char &seen = memo_[pi * (s_.size() + 1) + si];
    if (seen != 0) return seen == 1;
    const bool result = compute(pi, si);
    seen = result ? 1 : 2;
    return result;
  }

 private:
  bool compute(std::size_t pi, std::size_t si) {
    if (pi == p_.size()) return si == s_.size();
    const char c = p_[pi];
    if (c == '*') {
      if (pi + 1 < p_.size() && p_[pi + 1] == '*') {
        std::size_t next = pi + 2;
        // "/**/" may match a single '/': skip "**/" when it follows a '/'
        // (or starts the pattern).
        if (next < p_.size() && p_[next] == '/' && (pi == 0 || p_[pi - 1] == '/') &&
            match(next + 1, si)) {
          return true;
        }
        for (std::size_t k = si; k <= s_.size(); ++k) {
          if (match(next, k)) return true;
        }
        return false;
      }
      for (std::size_t k = si; k <= s_.size(); ++k) {
        if (match(pi + 1, k)) return true;
        if (k < s_.size() && s_[k] == '/') break;
      }
      return false;
    }
    if (si == s_.size()) return false;
    if (c == '?') return s_[si] != '/' && match(pi + 1, si + 1);
    if (c == '[') {
      const std::size_t close = set_end(p_, pi);
      if (close == std::string_view::npos) return false;  // compile() rejects these
      return s_[si] != '/' && set_matches(p_, pi, close, s_[si]) && match(close + 1, si + 1);
    }
    if (c == '\\' && pi + 1 < p_.size()) return s_[si] == p_[pi + 1] && match(pi + 2, si + 1);
    return s_[si] == c && match(pi + 1, si + 1);
  }

  std::string_view p_;
  std::string_view s_;
  std::vector<char> memo_;  // 0 unknown, 1 match, 2 no match
};

}  // namespace

std::size_t Glob::error_offset(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (i + 1 == pattern.size()) return i;
      ++i;
    } else if (pattern[i] == '[') {
      const std::size_t close = set_end(pattern, i);
      if (close == std::string_view::npos) return i;
      i = close;
    }
  }
  return kNoError;
}

Result<Glob> Glob::compile(std::string_view pattern) {
  const std::size_t bad = error_offset(pattern);
  if (bad != kNoError) {
    return make_error(EINVAL, "glob '{}': {} at offset {}", pattern,
                      pattern[bad] == '[' ? "unterminated [...]" : "trailing '\\'", bad);
  }
  return Glob(std::string(pattern));
}

bool Glob::matches(std::string_view path) const {
  return Matcher(pattern_, path).match(0, 0);
}

}  // namespace pdm::hsm
