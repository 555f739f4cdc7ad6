// The policy language of pdm-hsm migrate (issue #6: size, atime, mtime, path
// glob, owner, state; and/or/not; clear messages for bad expressions).
#include "apps/hsm/policy/policy.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include "apps/hsm/policy/glob.h"

namespace pdm::hsm {
namespace {

using namespace std::chrono_literals;

// A fixed "now": 2026-11-24T00:00:00Z.
const std::chrono::system_clock::time_point kNow =
    std::chrono::system_clock::time_point(std::chrono::seconds(1795478400));
constexpr std::int64_t kNowNs = std::int64_t{1795478400} * 1'000'000'000;
constexpr std::int64_t kDayNs = std::int64_t{86400} * 1'000'000'000;

Policy must_parse(std::string_view text) {
  auto policy = Policy::parse(text, kNow);
  if (!policy.ok()) ADD_FAILURE() << text << ": " << policy.error().message;
  return policy.ok() ? std::move(*policy) : *Policy::parse("size >= 0", kNow);
}

FileFacts facts(std::string path = "/proj/a.dat", std::uint64_t size = 0) {
  FileFacts f;
  f.path = std::move(path);
  f.size = size;
  f.atime_ns = kNowNs;
  f.mtime_ns = kNowNs;
  f.uid = 1000;
  return f;
}

bool matches(std::string_view text, const FileFacts &file) {
  return must_parse(text).matches(file);
}

// Expects EINVAL mentioning "column N" and `what`.
void expect_error(std::string_view text, std::size_t column, std::string_view what) {
  auto policy = Policy::parse(text, kNow);
  ASSERT_FALSE(policy.ok()) << text;
  EXPECT_EQ(policy.error().code, EINVAL);
  EXPECT_NE(policy.error().message.find(fmt::format("column {}:", column)), std::string::npos)
      << text << " -> " << policy.error().message;
  EXPECT_NE(policy.error().message.find(what), std::string::npos)
      << text << " -> " << policy.error().message;
}

TEST(Policy, SizeComparisonsWithEveryOperator) {
  const FileFacts f = facts("/x", 1000);
  EXPECT_TRUE(matches("size > 999", f));
  EXPECT_FALSE(matches("size > 1000", f));
  EXPECT_TRUE(matches("size >= 1000", f));
  EXPECT_TRUE(matches("size < 1001", f));
  EXPECT_FALSE(matches("size < 1000", f));
  EXPECT_TRUE(matches("size <= 1000", f));
  EXPECT_TRUE(matches("size == 1000", f));
  EXPECT_FALSE(matches("size != 1000", f));
  EXPECT_TRUE(matches("size != 1", f));
}

TEST(Policy, SizeUnitsArePowersOf1024) {
  EXPECT_TRUE(matches("size == 1K", facts("/x", 1024)));
  EXPECT_TRUE(matches("size == 1M", facts("/x", 1 << 20)));
  EXPECT_TRUE(matches("size == 3G", facts("/x", 3ull << 30)));
  EXPECT_TRUE(matches("size == 2T", facts("/x", 2ull << 40)));
  EXPECT_TRUE(matches("size == 64k", facts("/x", 65536)));
  EXPECT_TRUE(matches("size > 1M", facts("/x", (1 << 20) + 1)));
  EXPECT_FALSE(matches("size > 1M", facts("/x", 1 << 20)));
}

TEST(Policy, RelativeTimesCountBackFromNow) {
  FileFacts f = facts();
  f.mtime_ns = kNowNs - 8 * kDayNs;
  EXPECT_TRUE(matches("mtime < -7d", f));  // older than a week
  EXPECT_FALSE(matches("mtime > -7d", f));
  EXPECT_TRUE(matches("mtime < -1w", f));
  EXPECT_FALSE(matches("mtime < -2w", f));
  EXPECT_TRUE(matches("mtime >= -192h", f));
  EXPECT_TRUE(matches("mtime == -192h", f));
  EXPECT_TRUE(matches("mtime > -691201s", f));
  EXPECT_TRUE(matches("mtime < -11519m", f));
  EXPECT_TRUE(matches("mtime != -1s", f));
  EXPECT_TRUE(matches("mtime <= +1h", f));
  f.atime_ns = kNowNs - 30 * 1'000'000'000ll;
  EXPECT_TRUE(matches("atime > -1m", f));
  EXPECT_FALSE(matches("atime < -1m", f));
}

TEST(Policy, AbsoluteTimesAreUtc) {
  FileFacts f = facts();
  f.mtime_ns = std::int64_t{1769860800} * 1'000'000'000;  // 2026-01-31T12:00:00Z
  EXPECT_TRUE(matches("mtime > 2026-01-31", f));
  EXPECT_TRUE(matches("mtime == 2026-01-31T12:00:00", f));
  EXPECT_TRUE(matches("mtime == \"2026-01-31T12:00:00Z\"", f));
  EXPECT_TRUE(matches("mtime < 2026-01-31T12:00:01", f));
  EXPECT_TRUE(matches("mtime < 2026-02-01", f));
  EXPECT_FALSE(matches("atime < 2026-02-01", f));  // atime is now
}

TEST(Policy, PathGlobs) {
  EXPECT_TRUE(matches("path ~ \"/proj/**\"", facts("/proj/a/b/c.dat")));
  EXPECT_TRUE(matches("path ~ /proj/**", facts("/proj/a")));
  EXPECT_FALSE(matches("path ~ \"/proj/**\"", facts("/project/a")));
  EXPECT_TRUE(matches("path ~ \"/proj/*.dat\"", facts("/proj/a.dat")));
  EXPECT_FALSE(
      matches("path ~ \"/proj/*.dat\"", facts("/proj/sub/a.dat")));  // * stays in one component
  EXPECT_TRUE(matches("path !~ \"/proj/*.dat\"", facts("/proj/sub/a.dat")));
  EXPECT_TRUE(matches("path ~ \"/proj/**/*.dat\"", facts("/proj/a.dat")));  // ** = zero components
  EXPECT_TRUE(matches("path ~ \"/proj/**/*.dat\"", facts("/proj/x/y/a.dat")));
  EXPECT_TRUE(matches("path ~ \"/f?le\"", facts("/file")));
  EXPECT_FALSE(matches("path ~ \"/f?le\"", facts("/fle")));
  EXPECT_TRUE(matches("path ~ \"/run[0-9][0-9]\"", facts("/run42")));
  EXPECT_FALSE(matches("path ~ \"/run[0-9]\"", facts("/runx")));
  EXPECT_TRUE(matches("path ~ \"/run[!0-9]\"", facts("/runx")));
  EXPECT_TRUE(matches("path ~ \"/a\\\\*\"", facts("/a*")));  // "\\*" in the string = glob \*
  EXPECT_FALSE(matches("path ~ \"/a\\\\*\"", facts("/ab")));
  EXPECT_TRUE(matches("path ~ \"/with \\\"quote\\\"\"", facts("/with \"quote\"")));
}

TEST(Glob, Semantics) {
  auto m = [](std::string_view pattern, std::string_view path) {
    auto glob = Glob::compile(pattern);
    EXPECT_TRUE(glob.ok()) << pattern;
    return glob.ok() && glob->matches(path);
  };
  EXPECT_TRUE(m("/a/*", "/a/b"));
  EXPECT_FALSE(m("/a/*", "/a/b/c"));
  EXPECT_TRUE(m("/a/**", "/a/b/c"));
  EXPECT_TRUE(m("**", "/anything/at/all"));
  EXPECT_TRUE(m("/a/**/b", "/a/b"));
  EXPECT_TRUE(m("/a/**/b", "/a/x/y/b"));
  EXPECT_FALSE(m("/a/**/b", "/a/x/yb"));
  EXPECT_TRUE(m("/a/**b", "/a/x/yb"));
  EXPECT_FALSE(m("/a?b", "/a/b"));  // ? never matches '/'
  EXPECT_FALSE(m("/a[/]b", "/a/b"));
  EXPECT_TRUE(m("/[]x]", "/]"));
  EXPECT_TRUE(m("/[^a]", "/b"));
  EXPECT_FALSE(m("/[^a]", "/a"));
  EXPECT_TRUE(m("/[a-cx]", "/x"));
  EXPECT_FALSE(m("/abc", "/ab"));
  EXPECT_FALSE(m("/ab", "/abc"));  // whole path
  // Many stars stay fast (memoised): this would take ages by plain backtracking.
  EXPECT_FALSE(m("/*a*a*a*a*a*a*a*a*a*a*b", "/" + std::string(200, 'a')));
  EXPECT_FALSE(m("**a**a**a**a**a**a**a**b", "/" + std::string(200, 'a')));
  EXPECT_EQ(Glob::compile("/a[bc").error().code, EINVAL);
  EXPECT_EQ(Glob::compile("/a\\").error().code, EINVAL);
}

TEST(Policy, OwnerByUidAndByName) {
  FileFacts f = facts();
  f.uid = 0;
  EXPECT_TRUE(matches("owner == 0", f));
  EXPECT_TRUE(matches("owner == root", f));
  EXPECT_TRUE(matches("owner != 1000", f));
  f.uid = static_cast<std::uint32_t>(::getuid());
  const passwd *me = ::getpwuid(::getuid());
  ASSERT_NE(me, nullptr);
  EXPECT_TRUE(matches(fmt::format("owner == \"{}\"", me->pw_name), f));
  EXPECT_TRUE(matches(fmt::format("owner == {}", ::getuid()), f));
}

TEST(Policy, State) {
  FileFacts f = facts();
  f.state = FileState::kPremigrated;
  EXPECT_TRUE(matches("state == premigrated", f));
  EXPECT_FALSE(matches("state == migrated", f));
  EXPECT_TRUE(matches("state != resident", f));
  EXPECT_TRUE(matches("not state == migrated", f));
}

TEST(Policy, PrecedenceIsNotThenAndThenOr) {
  const FileFacts f = facts("/x", 10);
  // a or b and c == a or (b and c)
  EXPECT_TRUE(matches("size == 10 or size == 1 and size == 2", f));
  EXPECT_FALSE(matches("(size == 10 or size == 1) and size == 2", f));
  // not a and b == (not a) and b
  EXPECT_FALSE(matches("not size == 10 and size == 10", f));
  EXPECT_TRUE(matches("not (size == 1 and size == 10)", f));
  EXPECT_TRUE(matches("not not size == 10", f));
  EXPECT_EQ(must_parse("size == 10 or size == 1 and not size == 2").describe(),
            "((size == 10) or ((size == 1) and (not (size == 2))))");
  EXPECT_EQ(must_parse("size<1 or size<2 or size<3").describe(),
            "(((size < 1) or (size < 2)) or (size < 3))");
}

TEST(Policy, TheIssueExamples) {
  FileFacts f = facts("/proj/run1/out.h5", 2 << 20);
  f.mtime_ns = kNowNs - 10 * kDayNs;
  EXPECT_TRUE(matches("size > 1M and mtime < -7d and path ~ \"/proj/**\"", f));
  f.mtime_ns = kNowNs - 1 * kDayNs;
  EXPECT_FALSE(matches("size > 1M and mtime < -7d and path ~ \"/proj/**\"", f));
  f.uid = 0;
  EXPECT_TRUE(matches("not state == migrated and (owner == \"root\" or size >= 10G)", f));
  f.state = FileState::kMigrated;
  EXPECT_FALSE(matches("not state == migrated and (owner == \"root\" or size >= 10G)", f));
}

TEST(Policy, DescribeShowsAbsoluteTimesAndQuotedGlobs) {
  EXPECT_EQ(must_parse("mtime < -7d and path ~ /p/**").describe(),
            "((mtime < 2026-11-17T00:00:00Z) and (path ~ \"/p/**\"))");
  EXPECT_EQ(must_parse("  owner==root  ").describe(), "(owner == root)");
  // describe() parses back to the same policy.
  const std::string text =
      must_parse("size > 1M and not (state == migrated or atime > -1d)").describe();
  EXPECT_EQ(must_parse(text).describe(), text);
}

TEST(Policy, ErrorsGiveTheColumnAndWhatWasExpected) {
  expect_error("", 1, "expected an attribute");
  expect_error("size", 5, "expected an operator after 'size'");
  expect_error("size >", 7, "expected a value");
  expect_error("size > big", 8, "expected a size");
  expect_error("size > -1", 8, "expected a size");
  expect_error("color == red", 1, "expected an attribute");
  expect_error("size ~ 1M", 6, "operator '~' does not apply to size");
  expect_error("path == /x", 6, "does not apply to path (use ~ or !~)");
  expect_error("owner < 3", 7, "does not apply to owner");
  expect_error("state > resident", 7, "does not apply to state");
  expect_error("state == gone", 10, "expected a state");
  expect_error("mtime < -7y", 9, "expected a time");
  expect_error("mtime < 2026-02-30", 9, "expected a time");
  expect_error("mtime < yesterday", 9, "expected a time");
  expect_error("owner == no_such_user_pdm", 10, "unknown user");
  expect_error("size > 1 and", 13, "expected an attribute");
  expect_error("size > 1 size > 2", 10, "expected 'and', 'or' or the end");
  expect_error("(size > 1", 10, "expected ')' to close the '(' at column 1");
  expect_error("size > 1)", 9, "expected 'and', 'or' or the end");
  expect_error("path ~ \"/a", 8, "unterminated string");
  expect_error("size => 1", 6, "unknown operator '=>'");
  expect_error("size = 1", 6, "unknown operator '='");
  expect_error("path ~ \"/a[b\"", 11, "unterminated [...]");
  expect_error("path ~ /a[b", 10, "unterminated [...]");
}

}  // namespace
}  // namespace pdm::hsm
