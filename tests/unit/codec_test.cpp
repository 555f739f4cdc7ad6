// The wire format: Encoder/Decoder round trips, bounded decoding of corrupt
// input, message headers, and the Inode/DirEntry encodings built on them.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include "pfs/meta/inode.h"
#include "runtime/mpi/codec.h"
#include "runtime/mpi/message.h"

namespace {

using pdm::mpi::Bytes;
using pdm::mpi::Decoder;
using pdm::mpi::Encoder;
using pdm::mpi::Header;

enum class Colour : std::uint16_t { kRed = 1, kBlue = 0xbeef };
enum class Delta : std::int8_t { kBack = -3, kForward = 3 };

template <typename T>
void expect_round_trip(T value) {
  Encoder out;
  out.put(value);
  ASSERT_EQ(out.size(), sizeof(T));
  Decoder in(out.bytes());
  auto back = in.get<T>();
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, value);
  EXPECT_TRUE(in.expect_end().ok());
}

template <typename T>
void expect_extremes_round_trip() {
  expect_round_trip<T>(std::numeric_limits<T>::min());
  expect_round_trip<T>(std::numeric_limits<T>::max());
  expect_round_trip<T>(T{0});
  expect_round_trip<T>(T{1});
}

Bytes bytes_of(std::initializer_list<unsigned> values) {
  Bytes out;
  for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

pdm::pfs::Inode sample_inode() {
  pdm::pfs::Inode inode;
  inode.ino = 0x0102030405060708;
  inode.generation = 77;
  inode.mode = S_IFREG | 0640;
  inode.uid = 1000;
  inode.gid = 100;
  inode.nlink = 1;
  inode.size = std::uint64_t{1} << 40;
  inode.atime = -5;  // before the epoch: times are signed
  inode.mtime = 1'700'000'000'000'000'000;
  inode.ctime = 1'700'000'000'000'000'001;
  inode.stripe_size = 1u << 20;
  inode.first_volume = 3;
  return inode;
}

TEST(Codec, EveryIntegerWidthRoundTrips) {
  expect_extremes_round_trip<std::uint8_t>();
  expect_extremes_round_trip<std::int8_t>();
  expect_extremes_round_trip<std::uint16_t>();
  expect_extremes_round_trip<std::int16_t>();
  expect_extremes_round_trip<std::uint32_t>();
  expect_extremes_round_trip<std::int32_t>();
  expect_extremes_round_trip<std::uint64_t>();
  expect_extremes_round_trip<std::int64_t>();
}

TEST(Codec, IntegersAreLittleEndian) {
  Encoder out;
  out.put(std::uint32_t{0x01020304}).put(std::int16_t{-2});
  EXPECT_EQ(out.bytes(), bytes_of({0x04, 0x03, 0x02, 0x01, 0xfe, 0xff}));
}

TEST(Codec, EnumsRoundTripAsTheirUnderlyingType) {
  expect_round_trip(Colour::kRed);
  expect_round_trip(Colour::kBlue);
  expect_round_trip(Delta::kBack);
  expect_round_trip(Delta::kForward);
}

TEST(Codec, BoolsRoundTrip) {
  Encoder out;
  out.put_bool(true).put_bool(false);
  EXPECT_EQ(out.bytes(), bytes_of({1, 0}));
  Decoder in(out.bytes());
  auto t = in.get_bool();
  auto f = in.get_bool();
  ASSERT_TRUE(t.ok() && f.ok());
  EXPECT_TRUE(*t);
  EXPECT_FALSE(*f);
  EXPECT_TRUE(in.expect_end().ok());
}

TEST(Codec, InvalidBoolIsEproto) {
  const Bytes raw = bytes_of({2});
  Decoder in(raw);
  auto b = in.get_bool();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, EPROTO);
}

TEST(Codec, StringsAndBytesRoundTrip) {
  const std::string with_nul("a\0b", 3);
  const Bytes blob = bytes_of({0, 1, 0xff, 0x80});
  Encoder out;
  out.put_string("").put_string("hello").put_string(with_nul).put_bytes(blob).put_bytes({});
  Decoder in(out.bytes());
  EXPECT_EQ(*in.get_string(10), "");
  EXPECT_EQ(*in.get_string(10), "hello");
  EXPECT_EQ(*in.get_string(10), with_nul);
  EXPECT_EQ(*in.get_bytes(10), blob);
  EXPECT_EQ(*in.get_bytes(10), Bytes{});
  EXPECT_TRUE(in.expect_end().ok());
}

TEST(Codec, StringAtTheLimitIsAccepted) {
  Encoder out;
  out.put_string("abcd");
  Decoder in(out.bytes());
  auto s = in.get_string(4);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(*s, "abcd");
}

TEST(Codec, StringOverTheLimitIsEproto) {
  Encoder out;
  out.put_string("abcde");
  Decoder in(out.bytes());
  auto s = in.get_string(4);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EPROTO);
}

TEST(Codec, BytesOverTheLimitIsEproto) {
  Encoder out;
  out.put_bytes(bytes_of({1, 2, 3}));
  Decoder in(out.bytes());
  auto b = in.get_bytes(2);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, EPROTO);
}

TEST(Codec, HugeLengthPrefixIsEprotoWithoutAllocating) {
  // A length of 4 GiB - 1 with nothing behind it, and a limit that allows it.
  const Bytes raw = bytes_of({0xff, 0xff, 0xff, 0xff, 'x'});
  Decoder in(raw);
  auto b = in.get_bytes(std::numeric_limits<std::size_t>::max());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, EPROTO);
}

TEST(Codec, TruncatedInputIsEprotoAtEveryLength) {
  Encoder out;
  out.put(std::uint64_t{42}).put_string("name").put_bool(true).put_bytes(bytes_of({9, 9}));
  const Bytes full = out.bytes();
  for (std::size_t len = 0; len < full.size(); ++len) {
    // A copy of exactly len bytes, so ASan catches any read past the end.
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    Decoder in(cut);
    auto u = in.get<std::uint64_t>();
    if (!u.ok()) {
      EXPECT_EQ(u.error().code, EPROTO) << "length " << len;
      continue;
    }
    auto s = in.get_string(16);
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, EPROTO) << "length " << len;
      continue;
    }
    auto b = in.get_bool();
    if (!b.ok()) {
      EXPECT_EQ(b.error().code, EPROTO) << "length " << len;
      continue;
    }
    auto bytes = in.get_bytes(16);
    ASSERT_FALSE(bytes.ok()) << "length " << len << " decoded completely";
    EXPECT_EQ(bytes.error().code, EPROTO) << "length " << len;
  }
}

TEST(Codec, RawReadsAreBounded) {
  const Bytes raw = bytes_of({1, 2, 3});
  Decoder in(raw);
  auto first = in.get_raw(2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 2u);
  EXPECT_EQ(in.rest().size(), 1u);
  auto too_many = in.get_raw(2);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, EPROTO);
  EXPECT_EQ(in.remaining(), 1u);
}

TEST(Codec, ExpectEndWithTrailingBytesFails) {
  const Bytes raw = bytes_of({1, 0, 7});
  Decoder in(raw);
  ASSERT_TRUE(in.get<std::uint16_t>().ok());
  auto end = in.expect_end();
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, EPROTO);
  ASSERT_TRUE(in.get<std::uint8_t>().ok());
  EXPECT_TRUE(in.expect_end().ok());
}

TEST(Message, BeginAndFinishRoundTrip) {
  Encoder message = pdm::mpi::begin_message();
  message.put(std::uint32_t{0xdeadbeef}).put_string("payload");
  Header header;
  header.type = 0x0201;
  header.epoch = 7;
  header.call_id = 0x1122334455667788;
  header.status = ENOENT;
  const Bytes bytes = pdm::mpi::finish_message(std::move(message), header);
  ASSERT_EQ(bytes.size(), Header::kSize + 4 + 4 + 7);

  auto decoded = Header::decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->type, header.type);
  EXPECT_EQ(decoded->epoch, header.epoch);
  EXPECT_EQ(decoded->call_id, header.call_id);
  EXPECT_EQ(decoded->status, header.status);
  EXPECT_EQ(decoded->payload_len, 4u + 4u + 7u);

  Decoder in(pdm::mpi::payload_of(bytes));
  EXPECT_EQ(*in.get<std::uint32_t>(), 0xdeadbeefu);
  EXPECT_EQ(*in.get_string(16), "payload");
  EXPECT_TRUE(in.expect_end().ok());
}

TEST(Message, EmptyPayloadRoundTrips) {
  const Bytes bytes = pdm::mpi::finish_message(pdm::mpi::begin_message(), Header{});
  auto decoded = Header::decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->payload_len, 0u);
}

Bytes valid_message() {
  Encoder message = pdm::mpi::begin_message();
  message.put(std::uint64_t{1});
  return pdm::mpi::finish_message(std::move(message), Header{});
}

TEST(Message, BadMagicIsEproto) {
  Bytes bytes = valid_message();
  bytes[0] ^= std::byte{0xff};
  auto decoded = Header::decode(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, EPROTO);
}

TEST(Message, UnknownVersionIsEproto) {
  Bytes bytes = valid_message();
  bytes[4] = std::byte{Header::kVersion + 1};  // the version follows the 4-byte magic
  auto decoded = Header::decode(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, EPROTO);
}

TEST(Message, PayloadLengthMismatchIsEproto) {
  Bytes longer = valid_message();
  longer.push_back(std::byte{0});
  auto decoded = Header::decode(longer);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, EPROTO);

  Bytes shorter = valid_message();
  shorter.pop_back();
  decoded = Header::decode(shorter);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, EPROTO);
}

TEST(Message, ShorterThanHeaderIsEproto) {
  const Bytes bytes = valid_message();
  for (std::size_t len = 0; len < Header::kSize; ++len) {
    const Bytes cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    auto decoded = Header::decode(cut);
    ASSERT_FALSE(decoded.ok()) << "length " << len;
    EXPECT_EQ(decoded.error().code, EPROTO);
  }
}

TEST(InodeCodec, InodeRoundTrips) {
  const pdm::pfs::Inode inode = sample_inode();
  Encoder out;
  inode.encode(out);
  Decoder in(out.bytes());
  auto back = pdm::pfs::Inode::decode(in);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, inode);
  EXPECT_TRUE(in.expect_end().ok());
}

TEST(InodeCodec, TruncatedInodeIsEprotoAtEveryLength) {
  Encoder out;
  sample_inode().encode(out);
  const Bytes full = out.bytes();
  for (std::size_t len = 0; len < full.size(); ++len) {
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    Decoder in(cut);
    auto back = pdm::pfs::Inode::decode(in);
    ASSERT_FALSE(back.ok()) << "length " << len;
    EXPECT_EQ(back.error().code, EPROTO);
  }
}

TEST(InodeCodec, UnknownInodeFormatIsEproto) {
  Encoder out;
  sample_inode().encode(out);
  Bytes bytes = out.bytes();
  bytes[0] = std::byte{0xee};
  Decoder in(bytes);
  auto back = pdm::pfs::Inode::decode(in);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, EPROTO);
}

TEST(InodeCodec, DirEntryRoundTrips) {
  const pdm::pfs::DirEntry entry{"some file", 12345, S_IFDIR | 0755};
  Encoder out;
  entry.encode(out);
  Decoder in(out.bytes());
  auto back = pdm::pfs::DirEntry::decode(in);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, entry);
  EXPECT_TRUE(in.expect_end().ok());
}

TEST(InodeCodec, DirEntryWithOverlongNameIsEproto) {
  const pdm::pfs::DirEntry entry{std::string(pdm::pfs::kMaxNameLength + 1, 'x'), 2, S_IFREG};
  Encoder out;
  entry.encode(out);
  Decoder in(out.bytes());
  auto back = pdm::pfs::DirEntry::decode(in);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, EPROTO);
}

TEST(InodeCodec, TruncatedDirEntryIsEprotoAtEveryLength) {
  Encoder out;
  pdm::pfs::DirEntry{"entry", 9, S_IFREG | 0644}.encode(out);
  const Bytes full = out.bytes();
  for (std::size_t len = 0; len < full.size(); ++len) {
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    Decoder in(cut);
    auto back = pdm::pfs::DirEntry::decode(in);
    ASSERT_FALSE(back.ok()) << "length " << len;
    EXPECT_EQ(back.error().code, EPROTO);
  }
}

}  // namespace
