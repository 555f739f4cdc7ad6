// ObjectStore::read_pieces, the volume side of a strided read: every piece
// gets what a read of it alone would (the object's bytes, zeros past its
// end), whether it was read with its neighbours in one hull or on its own.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <vector>

#include "pfs/config/volume.h"
#include "pfs/data/object_store.h"
#include "tests/unit/unit_support.h"

namespace pdm::pfs {
namespace {

using test::must;

constexpr InodeNumber kIno = 5;
constexpr std::uint64_t kObjectSize = 3 << 20;  // more than a hull (kSieveSpan)

std::vector<std::byte> object_bytes() {
  std::vector<std::byte> bytes(kObjectSize);
  for (std::uint64_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::byte>((i * 131 + i / 4099) & 0xff);
  }
  return bytes;
}

// What a read of each piece alone returns, next to what read_pieces gave.
void expect_each_as_alone(ObjectStore &store, InodeNumber ino, std::vector<ReadPiece> pieces) {
  std::vector<std::vector<std::byte>> got(pieces.size());
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    got[k].assign(pieces[k].length, std::byte{0x5a});  // zeros must be written, not assumed
    pieces[k].dest = got[k].data();
    pieces[k].got = 12345;
  }
  must(store.read_pieces(0, ino, pieces));
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    std::vector<std::byte> alone(pieces[k].length, std::byte{0});
    const std::size_t n = must(store.read(0, ino, pieces[k].offset, alone));
    EXPECT_EQ(pieces[k].got, n) << "piece " << k << " at " << pieces[k].offset;
    EXPECT_EQ(got[k], alone) << "piece " << k << " at " << pieces[k].offset;
  }
}

TEST(ObjectStore, ReadPiecesGetWhatAReadOfEachAloneWould) {
  test::TempDir dir;
  ObjectStore store({dir.path()});
  must(store.write(0, kIno, 0, object_bytes()));
  std::vector<ReadPiece> pieces;
  // Close together (read as hulls, more than one: kSieveSpan), ascending.
  for (std::uint64_t at = 7; at < (2 << 20) + 5000; at += 3000) pieces.push_back({at, 1000});
  pieces.push_back({(2 << 20) + 100000, 4096});  // far from the others: alone
  pieces.push_back({kObjectSize - 700, 500});    // the last hull runs into the end...
  pieces.push_back({kObjectSize - 100, 300});    // ...inside this piece
  pieces.push_back({kObjectSize + 10, 50});      // past the end
  pieces.push_back({1000, 64});                  // backwards: a new hull
  expect_each_as_alone(store, kIno, pieces);
}

TEST(ObjectStore, ReadPiecesOfAnObjectNeverWrittenAreZeros) {
  test::TempDir dir;
  ObjectStore store({dir.path()});
  expect_each_as_alone(store, 6, {{0, 100}, {200, 100}, {1 << 20, 10}});
}

// A read that fails on the volume fails read_pieces with its errno and the
// object's path, alone or in a hull. The object is a FIFO: it opens, and
// every pread of it fails (ESPIPE).
TEST(ObjectStore, AFailedReadOfAPieceFailsTheReadWithItsErrnoAndTheObject) {
  test::TempDir dir;
  ObjectStore store({dir.path()});
  const std::string path = object_path(dir.path(), 7);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  std::vector<std::byte> buffer(300);
  std::vector<ReadPiece> alone{{0, 100, buffer.data(), 0}};
  std::vector<ReadPiece> hull{{0, 100, buffer.data(), 0}, {150, 100, buffer.data() + 100, 0}};
  for (auto *pieces : {&alone, &hull}) {
    const Status read = store.read_pieces(0, 7, *pieces);
    ASSERT_FALSE(read.ok()) << pieces->size() << " pieces";
    EXPECT_EQ(read.error().code, ESPIPE) << read.error().message;
    EXPECT_NE(read.error().message.find(path), std::string::npos) << read.error().message;
  }
}

}  // namespace
}  // namespace pdm::pfs
