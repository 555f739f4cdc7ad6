// Encoder/Decoder: the wire format of every pdm message payload.
// Fixed-width little-endian integers, length-prefixed strings and byte blobs.
// Decoding is bounded and validated: every read checks the bytes left, every
// length is checked against a caller-given limit, so a corrupt or hostile
// message yields an EPROTO error, never an out-of-bounds read or a huge
// allocation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/base/result.h"

namespace pdm::mpi {

using Bytes = std::vector<std::byte>;

namespace detail {
template <typename T, bool = std::is_enum_v<T>>
struct Underlying {
  using type = T;
};
template <typename T>
struct Underlying<T, true> {
  using type = std::underlying_type_t<T>;
};
}  // namespace detail

// The unsigned integer an integral or enum value travels as.
template <typename T>
using WireType = std::make_unsigned_t<typename detail::Underlying<T>::type>;

class Encoder {
 public:
  Encoder() = default;
  explicit Encoder(Bytes buffer) : buf_(std::move(buffer)) {}

  template <typename T>
  requires std::is_integral_v<T> || std::is_enum_v<T> Encoder &put(T value) {
    using U = WireType<T>;
    auto v = static_cast<U>(value);
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      buf_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xffu));
    }
    return *this;
  }
  Encoder &put_bool(bool value) { return put<std::uint8_t>(value ? 1 : 0); }
  Encoder &put_string(std::string_view s);
  Encoder &put_bytes(std::span<const std::byte> bytes);
  // Appends raw bytes without a length prefix (the tail of a message).
  Encoder &put_raw(std::span<const std::byte> bytes);
  // Appends n zero bytes and returns them to be filled in place (a read
  // straight into a response, with no buffer of its own to copy from).
  std::span<std::byte> put_space(std::size_t n);
  // Drops the last n bytes (the unfilled end of a put_space).
  void drop_tail(std::size_t n) { buf_.resize(buf_.size() - std::min(n, buf_.size())); }

  std::size_t size() const { return buf_.size(); }
  const Bytes &bytes() const & { return buf_; }
  Bytes take() && { return std::move(buf_); }

 private:
  Bytes buf_;
};

class Decoder {
 public:
  explicit Decoder(std::span<const std::byte> data) : data_(data) {}

  template <typename T>
  requires std::is_integral_v<T> || std::is_enum_v<T> Result<T> get() {
    using U = WireType<T>;
    if (remaining() < sizeof(U)) return truncated(sizeof(U));
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      v |= static_cast<U>(static_cast<U>(data_[pos_ + i]) << (8 * i));
    }
    pos_ += sizeof(U);
    return static_cast<T>(v);
  }
  Result<bool> get_bool();
  // A string of at most max_len bytes.
  Result<std::string> get_string(std::size_t max_len);
  // A length-prefixed blob of at most max_len bytes.
  Result<Bytes> get_bytes(std::size_t max_len);
  // A view of the next n bytes (no copy; valid while the buffer lives).
  Result<std::span<const std::byte>> get_raw(std::size_t n);
  // Every byte not yet read.
  std::span<const std::byte> rest() const { return data_.subspan(pos_); }

  std::size_t remaining() const { return data_.size() - pos_; }
  // Decoding of a whole message must consume it exactly.
  Status expect_end() const;

 private:
  Error truncated(std::size_t wanted) const;

  std::span<const std::byte> data_;
  std::size_t pos_ = 0;
};

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte *>(s.data()), s.size()};
}

}  // namespace pdm::mpi
