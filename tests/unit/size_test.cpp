#include "runtime/base/size.h"

#include <gtest/gtest.h>

namespace pdm {
namespace {

TEST(ParseSize, PlainNumberIsBytes) {
  ASSERT_TRUE(parse_size("4096").ok());
  EXPECT_EQ(*parse_size("4096"), 4096u);
  EXPECT_EQ(*parse_size("0"), 0u);
  EXPECT_EQ(*parse_size("12B"), 12u);
}

TEST(ParseSize, UnitsAreBinaryMultiples) {
  EXPECT_EQ(*parse_size("64K"), 64u * 1024);
  EXPECT_EQ(*parse_size("64k"), 64u * 1024);
  EXPECT_EQ(*parse_size("64KiB"), 64u * 1024);
  EXPECT_EQ(*parse_size("64Ki"), 64u * 1024);
  EXPECT_EQ(*parse_size("1M"), 1u << 20);
  EXPECT_EQ(*parse_size("1MiB"), 1u << 20);
  EXPECT_EQ(*parse_size("1mib"), 1u << 20);
  EXPECT_EQ(*parse_size("2G"), 2ull << 30);
  EXPECT_EQ(*parse_size("1T"), 1ull << 40);
}

TEST(ParseSize, SpacesAroundNumberAndUnitAreAllowed) {
  EXPECT_EQ(*parse_size(" 8 M "), 8u << 20);
}

TEST(ParseSize, LargestValueParses) {
  EXPECT_EQ(*parse_size("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(*parse_size("16777215T"), 16777215ull << 40);
}

TEST(ParseSize, GarbageIsRejectedWithTheTextInTheMessage) {
  for (const char *text :
       {"", "  ", "abc", "12x", "1.5M", "K", "1 K B", "1KB", "1MiBs", "0x10", "1e6", "1BiB"}) {
    auto size = parse_size(text);
    ASSERT_FALSE(size.ok()) << text;
    EXPECT_EQ(size.error().code, EINVAL) << text;
    EXPECT_NE(size.error().message.find(fmt::format("'{}'", text)), std::string::npos)
        << size.error().message;
  }
}

TEST(ParseSize, NegativeIsRejected) {
  auto size = parse_size("-1");
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.error().code, EINVAL);
  EXPECT_NE(size.error().message.find("'-1'"), std::string::npos);
  EXPECT_FALSE(parse_size("+1").ok());
}

TEST(ParseSize, OverflowIsRejected) {
  for (const char *text :
       {"18446744073709551616", "99999999999999999999999", "16777216T", "17179869184G"}) {
    auto size = parse_size(text);
    ASSERT_FALSE(size.ok()) << text;
    EXPECT_EQ(size.error().code, EINVAL);
    EXPECT_NE(size.error().message.find("too large"), std::string::npos) << size.error().message;
  }
}

TEST(FormatSize, PicksTheLargestUnitWithOneDecimal) {
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(512), "512 B");
  EXPECT_EQ(format_size(1023), "1023 B");
  EXPECT_EQ(format_size(1024), "1 KiB");
  EXPECT_EQ(format_size(1536), "1.5 KiB");
  EXPECT_EQ(format_size(3 * kMiB / 2), "1.5 MiB");
  EXPECT_EQ(format_size(64 * kKiB), "64 KiB");
  EXPECT_EQ(format_size(kGiB), "1 GiB");
  EXPECT_EQ(format_size(kTiB + kTiB / 10), "1.1 TiB");
  EXPECT_EQ(format_size(UINT64_MAX), "16 EiB");
}

TEST(FormatSize, RoundingCarriesIntoTheNextUnit) {
  EXPECT_EQ(format_size(kMiB - 1), "1 MiB");
  EXPECT_EQ(format_size(2 * kKiB - 1), "2 KiB");
  EXPECT_EQ(format_size(kKiB + 50), "1 KiB");
}

TEST(FormatSize, RoundTripsThroughParseForWholeUnits) {
  for (std::uint64_t size : {kKiB, 64 * kKiB, 8 * kMiB, 3 * kGiB, 2 * kTiB}) {
    std::string text = format_size(size);
    text.erase(text.find(' '), 1);
    EXPECT_EQ(*parse_size(text), size) << text;
  }
}

}  // namespace
}  // namespace pdm
