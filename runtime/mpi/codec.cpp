#include "runtime/mpi/codec.h"

namespace pdm::mpi {

Encoder &Encoder::put_string(std::string_view s) {
  put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
  return put_raw(as_bytes(s));
}

Encoder &Encoder::put_bytes(std::span<const std::byte> bytes) {
  put<std::uint32_t>(static_cast<std::uint32_t>(bytes.size()));
  return put_raw(bytes);
}

Encoder &Encoder::put_raw(std::span<const std::byte> bytes) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  return *this;
}

std::span<std::byte> Encoder::put_space(std::size_t n) {
  const std::size_t at = buf_.size();
  buf_.resize(at + n);
  return std::span<std::byte>(buf_).subspan(at);
}

Result<bool> Decoder::get_bool() {
  PDM_ASSIGN_OR_RETURN(auto v, get<std::uint8_t>());
  if (v > 1) return make_error(EPROTO, "message: invalid boolean {}", v);
  return v == 1;
}

Result<std::string> Decoder::get_string(std::size_t max_len) {
  PDM_ASSIGN_OR_RETURN(auto raw, get_bytes(max_len));
  return std::string(reinterpret_cast<const char *>(raw.data()), raw.size());
}

Result<Bytes> Decoder::get_bytes(std::size_t max_len) {
  PDM_ASSIGN_OR_RETURN(auto len, get<std::uint32_t>());
  if (len > max_len) {
    return make_error(EPROTO, "message: field of {} bytes exceeds the limit of {}", len, max_len);
  }
  PDM_ASSIGN_OR_RETURN(auto raw, get_raw(len));
  return Bytes(raw.begin(), raw.end());
}

Result<std::span<const std::byte>> Decoder::get_raw(std::size_t n) {
  if (remaining() < n) return truncated(n);
  auto out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Status Decoder::expect_end() const {
  if (remaining() != 0) {
    return make_error(EPROTO, "message: {} unexpected trailing bytes", remaining());
  }
  return {};
}

Error Decoder::truncated(std::size_t wanted) const {
  return make_error(EPROTO, "message truncated: wanted {} bytes at offset {}, {} left", wanted,
                    pos_, remaining());
}

}  // namespace pdm::mpi
