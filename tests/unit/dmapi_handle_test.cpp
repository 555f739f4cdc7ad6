#include "runtime/dmapi/handle.h"

#include <pdm/dmapi.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

namespace pdm::dmapi {
namespace {

constexpr FsId kFsId = 0x3f9c0a1b2c3d4e5full;

// A handle the C API returned; freed with dm_handle_free like a DM app does.
struct CHandle {
  void *hanp = nullptr;
  size_t hlen = 0;
  CHandle() = default;
  CHandle(const CHandle &) = delete;
  CHandle &operator=(const CHandle &) = delete;
  ~CHandle() { dm_handle_free(hanp, hlen); }
};

// The bytes of handle, in a buffer we own (to corrupt or pass to the C API).
std::vector<unsigned char> bytes_of(const Handle &handle) {
  const HandleBytes bytes = handle.encode();
  return {bytes.begin(), bytes.end()};
}

// Runs a C call that must fail and returns its errno.
template <typename Call>
int errno_of(Call call) {
  errno = 0;
  EXPECT_EQ(call(), -1);
  return errno;
}

TEST(DmapiFsId, ParsesTheSixteenHexDigitsOfTheConfig) {
  auto fsid = parse_fs_id("3f9c0a1b2c3d4e5f");
  ASSERT_TRUE(fsid.ok()) << fsid.error().message;
  EXPECT_EQ(*fsid, kFsId);
  EXPECT_EQ(*parse_fs_id("3F9C0A1B2C3D4E5F"), kFsId);
  EXPECT_EQ(format_fs_id(kFsId), "3f9c0a1b2c3d4e5f");
  EXPECT_EQ(format_fs_id(1), "0000000000000001");
  EXPECT_EQ(*parse_fs_id(format_fs_id(~FsId{0})), ~FsId{0});
}

TEST(DmapiFsId, RejectsAnythingButSixteenHexDigits) {
  for (const char *bad : {"", "3f9c0a1b2c3d4e5", "3f9c0a1b2c3d4e5f0", "3f9c0a1b2c3d4e5g",
                          "+f9c0a1b2c3d4e5f", " 3f9c0a1b2c3d4e5", "0x9c0a1b2c3d4e5f"}) {
    auto fsid = parse_fs_id(bad);
    ASSERT_FALSE(fsid.ok()) << bad;
    EXPECT_EQ(fsid.error().code, EINVAL) << bad;
  }
}

TEST(DmapiHandle, EncodesTheDocumentedLittleEndianLayout) {
  const Handle handle =
      Handle::object(0x0102030405060708ull, 0x1112131415161718ull, 0x2122232425262728ull);
  const HandleBytes expected = {'p',  'd',  1,    3,    0,    0,    0,    0,    0x08, 0x07, 0x06,
                                0x05, 0x04, 0x03, 0x02, 0x01, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13,
                                0x12, 0x11, 0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21};
  EXPECT_EQ(handle.encode(), expected);
}

TEST(DmapiHandle, EveryKindRoundTrips) {
  for (const Handle &handle :
       {Handle::global(), Handle::file_system(kFsId), Handle::object(kFsId, 1, 1),
        Handle::object(kFsId, 42, 7), Handle::object(~FsId{0}, ~0ull, ~0ull)}) {
    ASSERT_TRUE(handle.validate().ok()) << handle.to_string();
    const HandleBytes bytes = handle.encode();
    auto decoded = Handle::decode(bytes.data(), bytes.size());
    ASSERT_TRUE(decoded.ok()) << handle.to_string() << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, handle);
  }
}

TEST(DmapiHandle, DecodeRejectsWhatIsNotAHandleWithEbadf) {
  const std::vector<unsigned char> good = bytes_of(Handle::object(kFsId, 42, 7));
  std::vector<std::vector<unsigned char>> bad;
  for (std::size_t index : {0, 1, 2, 3, 4, 7}) {
    auto corrupt = good;
    corrupt[index] ^= 0x40;  // magic, version, kind, reserved
    bad.push_back(corrupt);
  }
  for (unsigned char kind : {0, 4, 255}) {
    auto corrupt = good;
    corrupt[3] = kind;
    bad.push_back(corrupt);
  }
  bad.push_back(bytes_of(Handle{HandleKind::kObject, kFsId, 0, 7}));       // ino 0
  bad.push_back(bytes_of(Handle{HandleKind::kObject, kFsId, 42, 0}));      // generation 0
  bad.push_back(bytes_of(Handle{HandleKind::kObject, 0, 42, 7}));          // fs id 0
  bad.push_back(bytes_of(Handle{HandleKind::kFileSystem, kFsId, 42, 0}));  // fs with ino
  bad.push_back(bytes_of(Handle{HandleKind::kFileSystem, 0, 0, 0}));       // fs id 0
  bad.push_back(bytes_of(Handle{HandleKind::kGlobal, kFsId, 0, 0}));       // global with fs id
  for (const auto &bytes : bad) {
    auto decoded = Handle::decode(bytes.data(), bytes.size());
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, EBADF) << decoded.error().message;
    EXPECT_EQ(dm_handle_is_valid(const_cast<unsigned char *>(bytes.data()), bytes.size()),
              DM_FALSE);
  }
  for (std::size_t size : {std::size_t{0}, kHandleSize - 1, kHandleSize + 1}) {
    std::vector<unsigned char> bytes(size + 1, 0);
    std::memcpy(bytes.data(), good.data(), std::min(size, good.size()));
    auto decoded = Handle::decode(bytes.data(), size);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, EBADF);
  }
  EXPECT_EQ(Handle::decode(nullptr, kHandleSize).error().code, EBADF);
}

TEST(DmapiHandle, ValidateNamesTheFieldThatDoesNotFitTheKind) {
  auto status = Handle{HandleKind::kObject, kFsId, 0, 7}.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, EINVAL);
  EXPECT_NE(status.error().message.find("inode"), std::string::npos) << status.error().message;
}

TEST(DmapiHandle, AnObjectBelongsToTheFileSystemOfItsFsId) {
  auto fs = Handle::object(kFsId, 42, 7).fs_handle();
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ(*fs, Handle::file_system(kFsId));
  EXPECT_EQ(*Handle::file_system(kFsId).fs_handle(), Handle::file_system(kFsId));
  EXPECT_EQ(Handle::global().fs_handle().error().code, EBADF);
}

TEST(DmapiHandle, ToStringNamesKindAndFields) {
  EXPECT_EQ(Handle::global().to_string(), "global");
  EXPECT_EQ(Handle::file_system(kFsId).to_string(), "fs 3f9c0a1b2c3d4e5f");
  EXPECT_EQ(Handle::object(kFsId, 42, 7).to_string(), "object 3f9c0a1b2c3d4e5f/ino 42/gen 7");
}

TEST(DmapiHandle, ExportGivesAMallocdCopyAndChecksItsPointers) {
  CHandle out;
  ASSERT_TRUE(export_handle(Handle::object(kFsId, 42, 7), &out.hanp, &out.hlen).ok());
  ASSERT_EQ(out.hlen, kHandleSize);
  EXPECT_EQ(*Handle::decode(out.hanp, out.hlen), Handle::object(kFsId, 42, 7));
  std::size_t hlen = 0;
  void *hanp = nullptr;
  EXPECT_EQ(export_handle(Handle::global(), nullptr, &hlen).error().code, EFAULT);
  EXPECT_EQ(export_handle(Handle::global(), &hanp, nullptr).error().code, EFAULT);
}

// ---- The C API of <pdm/dmapi.h> ----

TEST(DmapiHandleC, MakeHandleRoundTripsThroughTheAccessors) {
  dm_fsid_t fsid = kFsId;
  dm_ino_t ino = 42;
  dm_igen_t igen = 7;
  CHandle h;
  ASSERT_EQ(dm_make_handle(&fsid, &ino, &igen, &h.hanp, &h.hlen), 0) << std::strerror(errno);
  EXPECT_EQ(h.hlen, kHandleSize);
  EXPECT_EQ(dm_handle_is_valid(h.hanp, h.hlen), DM_TRUE);

  dm_fsid_t fsid_out = 0;
  dm_ino_t ino_out = 0;
  dm_igen_t igen_out = 0;
  EXPECT_EQ(dm_handle_to_fsid(h.hanp, h.hlen, &fsid_out), 0);
  EXPECT_EQ(dm_handle_to_ino(h.hanp, h.hlen, &ino_out), 0);
  EXPECT_EQ(dm_handle_to_igen(h.hanp, h.hlen, &igen_out), 0);
  EXPECT_EQ(fsid_out, kFsId);
  EXPECT_EQ(ino_out, 42u);
  EXPECT_EQ(igen_out, 7u);
  EXPECT_EQ(*Handle::decode(h.hanp, h.hlen), Handle::object(kFsId, 42, 7));
}

TEST(DmapiHandleC, MakeHandleRejectsFieldsNoFileHasWithEinval) {
  dm_fsid_t fsid = kFsId;
  dm_fsid_t zero_fsid = 0;
  dm_ino_t ino = 42;
  dm_ino_t zero_ino = 0;
  dm_igen_t igen = 7;
  dm_igen_t zero_igen = 0;
  void *hanp = nullptr;
  size_t hlen = 0;
  EXPECT_EQ(errno_of([&] { return dm_make_handle(&fsid, &zero_ino, &igen, &hanp, &hlen); }),
            EINVAL);
  EXPECT_EQ(errno_of([&] { return dm_make_handle(&fsid, &ino, &zero_igen, &hanp, &hlen); }),
            EINVAL);
  EXPECT_EQ(errno_of([&] { return dm_make_handle(&zero_fsid, &ino, &igen, &hanp, &hlen); }),
            EINVAL);
  EXPECT_EQ(errno_of([&] { return dm_make_fshandle(&zero_fsid, &hanp, &hlen); }), EINVAL);
  EXPECT_EQ(hanp, nullptr);
}

TEST(DmapiHandleC, NullArgumentsFailWithEfault) {
  dm_fsid_t fsid = kFsId;
  dm_ino_t ino = 42;
  dm_igen_t igen = 7;
  void *hanp = nullptr;
  size_t hlen = 0;
  EXPECT_EQ(errno_of([&] { return dm_make_handle(nullptr, &ino, &igen, &hanp, &hlen); }), EFAULT);
  EXPECT_EQ(errno_of([&] { return dm_make_handle(&fsid, nullptr, &igen, &hanp, &hlen); }), EFAULT);
  EXPECT_EQ(errno_of([&] { return dm_make_handle(&fsid, &ino, nullptr, &hanp, &hlen); }), EFAULT);
  EXPECT_EQ(errno_of([&] { return dm_make_handle(&fsid, &ino, &igen, nullptr, &hlen); }), EFAULT);
  EXPECT_EQ(errno_of([&] { return dm_make_handle(&fsid, &ino, &igen, &hanp, nullptr); }), EFAULT);
  EXPECT_EQ(errno_of([&] { return dm_make_fshandle(nullptr, &hanp, &hlen); }), EFAULT);
  EXPECT_EQ(errno_of([&] { return dm_make_fshandle(&fsid, nullptr, &hlen); }), EFAULT);

  auto object = bytes_of(Handle::object(kFsId, 42, 7));
  EXPECT_EQ(errno_of([&] { return dm_handle_to_fsid(object.data(), object.size(), nullptr); }),
            EFAULT);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_ino(object.data(), object.size(), nullptr); }),
            EFAULT);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_igen(object.data(), object.size(), nullptr); }),
            EFAULT);
  EXPECT_EQ(
      errno_of([&] { return dm_handle_to_fshandle(object.data(), object.size(), nullptr, &hlen); }),
      EFAULT);
  EXPECT_EQ(hanp, nullptr);
}

TEST(DmapiHandleC, AccessorsFailWithEbadfOnAnInvalidHandle) {
  auto garbage = bytes_of(Handle::object(kFsId, 42, 7));
  garbage[0] = 'x';
  dm_fsid_t fsid = 0;
  dm_ino_t ino = 0;
  dm_igen_t igen = 0;
  void *hanp = nullptr;
  size_t hlen = 0;
  EXPECT_EQ(errno_of([&] { return dm_handle_to_fsid(garbage.data(), garbage.size(), &fsid); }),
            EBADF);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_ino(garbage.data(), garbage.size(), &ino); }),
            EBADF);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_igen(garbage.data(), garbage.size(), &igen); }),
            EBADF);
  EXPECT_EQ(
      errno_of([&] { return dm_handle_to_fshandle(garbage.data(), garbage.size(), &hanp, &hlen); }),
      EBADF);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_ino(nullptr, kHandleSize, &ino); }), EBADF);
  auto object = bytes_of(Handle::object(kFsId, 42, 7));
  EXPECT_EQ(errno_of([&] { return dm_handle_to_ino(object.data(), object.size() - 1, &ino); }),
            EBADF);
  EXPECT_EQ(hanp, nullptr);
}

// As in SGI's libdm: ino and generation only from a handle of a file, the
// fs id from anything but the global handle.
TEST(DmapiHandleC, AccessorsAcceptOnlyTheKindsThatHaveTheField) {
  CHandle fs;
  dm_fsid_t fsid = kFsId;
  ASSERT_EQ(dm_make_fshandle(&fsid, &fs.hanp, &fs.hlen), 0);
  dm_fsid_t fsid_out = 0;
  dm_ino_t ino = 0;
  dm_igen_t igen = 0;
  EXPECT_EQ(dm_handle_to_fsid(fs.hanp, fs.hlen, &fsid_out), 0);
  EXPECT_EQ(fsid_out, kFsId);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_ino(fs.hanp, fs.hlen, &ino); }), EBADF);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_igen(fs.hanp, fs.hlen, &igen); }), EBADF);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_fsid(DM_GLOBAL_HANP, DM_GLOBAL_HLEN, &fsid_out); }),
            EBADF);
  EXPECT_EQ(errno_of([&] { return dm_handle_to_ino(DM_GLOBAL_HANP, DM_GLOBAL_HLEN, &ino); }),
            EBADF);
}

TEST(DmapiHandleC, AGenerationBeyondDmIgenTIsReportedNotTruncated) {
  auto bytes = bytes_of(Handle::object(kFsId, 42, std::uint64_t{1} << 32));
  dm_igen_t igen = 123;
  EXPECT_EQ(errno_of([&] { return dm_handle_to_igen(bytes.data(), bytes.size(), &igen); }),
            EOVERFLOW);
  EXPECT_EQ(igen, 123u);
  auto largest = bytes_of(Handle::object(kFsId, 42, 0xffffffffu));
  EXPECT_EQ(dm_handle_to_igen(largest.data(), largest.size(), &igen), 0);
  EXPECT_EQ(igen, 0xffffffffu);
}

TEST(DmapiHandleC, HandleToFshandleEqualsMakeFshandle) {
  dm_fsid_t fsid = kFsId;
  dm_ino_t ino = 42;
  dm_igen_t igen = 7;
  CHandle object, from_object, made, from_fs;
  ASSERT_EQ(dm_make_handle(&fsid, &ino, &igen, &object.hanp, &object.hlen), 0);
  ASSERT_EQ(dm_handle_to_fshandle(object.hanp, object.hlen, &from_object.hanp, &from_object.hlen),
            0);
  ASSERT_EQ(dm_make_fshandle(&fsid, &made.hanp, &made.hlen), 0);
  ASSERT_EQ(dm_handle_to_fshandle(made.hanp, made.hlen, &from_fs.hanp, &from_fs.hlen), 0);
  EXPECT_EQ(dm_handle_cmp(from_object.hanp, from_object.hlen, made.hanp, made.hlen), 0);
  EXPECT_EQ(dm_handle_cmp(from_fs.hanp, from_fs.hlen, made.hanp, made.hlen), 0);
  EXPECT_NE(from_object.hanp, made.hanp);  // each call returns its own copy
  EXPECT_EQ(*Handle::decode(made.hanp, made.hlen), Handle::file_system(kFsId));
}

TEST(DmapiHandleC, TheGlobalHandleIsAValidStaticHandleOfNoFileSystem) {
  EXPECT_EQ(dm_handle_is_valid(DM_GLOBAL_HANP, DM_GLOBAL_HLEN), DM_TRUE);
  EXPECT_EQ(*Handle::decode(DM_GLOBAL_HANP, DM_GLOBAL_HLEN), Handle::global());
  const HandleBytes bytes = Handle::global().encode();
  EXPECT_EQ(std::memcmp(DM_GLOBAL_HANP, bytes.data(), bytes.size()), 0);
  void *hanp = nullptr;
  size_t hlen = 0;
  EXPECT_EQ(
      errno_of([&] { return dm_handle_to_fshandle(DM_GLOBAL_HANP, DM_GLOBAL_HLEN, &hanp, &hlen); }),
      EBADF);
  dm_handle_free(DM_GLOBAL_HANP, DM_GLOBAL_HLEN);  // ignored: static storage
  dm_handle_free(nullptr, 0);
  EXPECT_EQ(dm_handle_is_valid(DM_GLOBAL_HANP, DM_GLOBAL_HLEN), DM_TRUE);
  // A copy of it (as dm_getall_disp would return) is the same handle.
  auto copy = bytes_of(Handle::global());
  EXPECT_EQ(dm_handle_cmp(copy.data(), copy.size(), DM_GLOBAL_HANP, DM_GLOBAL_HLEN), 0);
}

TEST(DmapiHandleC, CmpIsATotalOrderAndHashAgreesWithEquality) {
  std::vector<std::vector<unsigned char>> handles = {bytes_of(Handle::global()),
                                                     bytes_of(Handle::file_system(kFsId)),
                                                     bytes_of(Handle::file_system(kFsId + 1)),
                                                     bytes_of(Handle::object(kFsId, 42, 7)),
                                                     bytes_of(Handle::object(kFsId, 42, 8)),
                                                     bytes_of(Handle::object(kFsId, 43, 7)),
                                                     std::vector<unsigned char>(3, 0xff)};
  for (auto &a : handles) {
    for (auto &b : handles) {
      const int ab = dm_handle_cmp(a.data(), a.size(), b.data(), b.size());
      const int ba = dm_handle_cmp(b.data(), b.size(), a.data(), a.size());
      EXPECT_EQ(ab, -ba);
      EXPECT_EQ(ab == 0, &a == &b);
    }
    auto copy = a;
    EXPECT_EQ(dm_handle_cmp(a.data(), a.size(), copy.data(), copy.size()), 0);
    EXPECT_EQ(dm_handle_hash(a.data(), a.size()), dm_handle_hash(copy.data(), copy.size()));
  }
  std::set<unsigned int> hashes;
  for (auto &h : handles) hashes.insert(dm_handle_hash(h.data(), h.size()));
  EXPECT_EQ(hashes.size(), handles.size());  // distinct here, though not promised
  EXPECT_LT(dm_handle_cmp(nullptr, kHandleSize, handles[0].data(), kHandleSize), 0);
  EXPECT_EQ(dm_handle_cmp(nullptr, 0, nullptr, 0), 0);
  EXPECT_EQ(dm_handle_hash(nullptr, kHandleSize), 0u);
}

TEST(DmapiHandleC, ManyHandlesAreEachFreedOnce) {
  std::vector<CHandle> handles(100);
  for (std::size_t i = 0; i < handles.size(); ++i) {
    dm_fsid_t fsid = kFsId;
    dm_ino_t ino = i + 1;
    dm_igen_t igen = 1;
    ASSERT_EQ(dm_make_handle(&fsid, &ino, &igen, &handles[i].hanp, &handles[i].hlen), 0);
  }
}

}  // namespace
}  // namespace pdm::dmapi
