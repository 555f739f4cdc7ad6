#include "pfs/config/path.h"

#include <gtest/gtest.h>

#include "pfs/meta/inode.h"

namespace pdm::pfs {
namespace {

using Names = std::vector<std::string>;

TEST(SplitPath, RootIsNoComponents) {
  ASSERT_TRUE(split_path("/").ok());
  EXPECT_EQ(*split_path("/"), Names{});
  EXPECT_EQ(*split_path("///"), Names{});
}

TEST(SplitPath, ComponentsInOrder) {
  EXPECT_EQ(*split_path("/a"), (Names{"a"}));
  EXPECT_EQ(*split_path("/a/b/c"), (Names{"a", "b", "c"}));
  EXPECT_EQ(*split_path("/.hidden/..x/x.."), (Names{".hidden", "..x", "x.."}));
  EXPECT_EQ(*split_path("/a b/\xc3\xa9"), (Names{"a b", "\xc3\xa9"}));
}

TEST(SplitPath, RepeatedAndTrailingSlashesCollapse) {
  EXPECT_EQ(*split_path("//a///b/"), (Names{"a", "b"}));
  EXPECT_EQ(*split_path("/a/b//"), (Names{"a", "b"}));
}

TEST(SplitPath, EmptyPathIsENOENT) {
  auto names = split_path("");
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.error().code, ENOENT);
}

TEST(SplitPath, RelativePathIsEINVAL) {
  for (const char *path : {"x", "a/b", "./a", "../a"}) {
    auto names = split_path(path);
    ASSERT_FALSE(names.ok()) << path;
    EXPECT_EQ(names.error().code, EINVAL) << path;
    EXPECT_EQ(names.error().message,
              fmt::format("pdm paths are absolute within the file system: '{}'", path));
  }
}

TEST(SplitPath, DotAndDotDotAreEINVAL) {
  for (const char *path : {"/.", "/..", "/a/./b", "/a/../b", "/a/.", "/a/..", "/a/../"}) {
    auto names = split_path(path);
    ASSERT_FALSE(names.ok()) << path;
    EXPECT_EQ(names.error().code, EINVAL) << path;
    EXPECT_NE(names.error().message.find("does not resolve"), std::string::npos)
        << names.error().message;
  }
}

TEST(SplitPath, EmbeddedNulIsEINVAL) {
  using namespace std::string_view_literals;
  auto names = split_path("/a\0b"sv);
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.error().code, EINVAL);
  EXPECT_NE(names.error().message.find("/a\\0b"), std::string::npos) << names.error().message;
  EXPECT_EQ(names.error().message.find('\0'), std::string::npos);
}

TEST(SplitPath, NameLimitIsNameMax) {
  const std::string longest(kMaxNameLength, 'n');
  EXPECT_EQ(*split_path("/" + longest), Names{longest});
  auto names = split_path("/a/" + longest + "n/b");
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.error().code, ENAMETOOLONG);
}

TEST(SplitPath, PathLimitIsPathMaxIncludingTheTerminator) {
  // Components of 100 bytes: "/" + 100 per step, then pad the last one.
  std::string path;
  while (path.size() + 101 < kMaxPathLength) path += "/" + std::string(100, 'p');
  path += "/" + std::string(kMaxPathLength - 1 - path.size() - 1, 'q');
  ASSERT_EQ(path.size(), kMaxPathLength - 1);
  EXPECT_TRUE(split_path(path).ok());
  path += 'q';
  auto names = split_path(path);
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.error().code, ENAMETOOLONG);
  EXPECT_LT(names.error().message.size(), 300u) << "the message quotes a shortened path";
}

TEST(JoinPath, InvertsSplitPath) {
  EXPECT_EQ(join_path(Names{}), "/");
  EXPECT_EQ(join_path(Names{"a"}), "/a");
  EXPECT_EQ(join_path(Names{"a", "b"}), "/a/b");
  for (const char *path : {"/", "/a", "/a/b/c"}) EXPECT_EQ(join_path(*split_path(path)), path);
}

TEST(ParentAndName, SplitsOffTheLastName) {
  auto split = parent_and_name("/a/b/c/");
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->parent, (Names{"a", "b"}));
  EXPECT_EQ(split->name, "c");
  split = parent_and_name("/top");
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->parent, Names{});
  EXPECT_EQ(split->name, "top");
}

TEST(ParentAndName, RootIsEBUSY) {
  for (const char *path : {"/", "//"}) {
    auto split = parent_and_name(path);
    ASSERT_FALSE(split.ok());
    EXPECT_EQ(split.error().code, EBUSY);
    EXPECT_NE(split.error().message.find("the root directory"), std::string::npos);
  }
}

TEST(ParentAndName, PassesOnSplitPathErrors) {
  EXPECT_EQ(parent_and_name("").error().code, ENOENT);
  EXPECT_EQ(parent_and_name("a").error().code, EINVAL);
  EXPECT_EQ(parent_and_name("/a/..").error().code, EINVAL);
  EXPECT_EQ(parent_and_name("/" + std::string(kMaxNameLength + 1, 'n')).error().code, ENAMETOOLONG);
}

}  // namespace
}  // namespace pdm::pfs
