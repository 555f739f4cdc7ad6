// Helpers shared by the archive backends' unit tests: the temp directory, a
// source reader over a byte vector and a sink that collects into one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "apps/hsm/archive/archive.h"
#include "tests/unit/unit_support.h"

namespace pdm::hsm::test {

// The scratch directory of every unit test (tests/unit/unit_support.h).
using pdm::test::TempDir;

inline std::vector<std::byte> pattern_bytes(std::size_t size, unsigned seed) {
  std::vector<std::byte> data(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto &b : data) {
    x = x * 1103515245u + 12345u;
    b = static_cast<std::byte>(x >> 24);
  }
  return data;
}

// Serves data in pieces of at most `piece` bytes, like a file read in requests.
inline SourceReader reader_of(const std::vector<std::byte> &data, std::size_t piece = 1000) {
  return [&data, piece](std::uint64_t offset, std::span<std::byte> out) -> Result<std::size_t> {
    if (offset >= data.size()) return std::size_t{0};
    const std::size_t n = std::min({out.size(), piece, data.size() - offset});
    std::memcpy(out.data(), data.data() + offset, n);
    return n;
  };
}

inline SinkWriter collector(std::vector<std::byte> &into) {
  return [&into](std::uint64_t offset, std::span<const std::byte> data) -> Status {
    if (into.size() < offset + data.size()) into.resize(offset + data.size());
    std::memcpy(into.data() + offset, data.data(), data.size());
    return ok_status();
  };
}

inline ArchivedFile file_facts(std::string path, std::uint64_t ino, std::uint64_t gen,
                               std::uint64_t size) {
  ArchivedFile file;
  file.path = std::move(path);
  file.ino = ino;
  file.generation = gen;
  file.size = size;
  file.mtime_ns = 1'700'000'000'123'456'789 + static_cast<std::int64_t>(ino);
  return file;
}

}  // namespace pdm::hsm::test
