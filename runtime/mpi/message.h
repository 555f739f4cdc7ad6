// Message framing: every pdm message starts with a fixed, versioned header.
// A message type is a 16-bit id; each layer owns a range (runtime 0x01xx,
// pfs metadata 0x02xx, pfs data 0x03xx, dm 0x04xx) and defines its typed
// messages as structs with encode()/decode() over Encoder/Decoder.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/mpi/codec.h"

namespace pdm::mpi {

using MsgType = std::uint16_t;

struct Header {
  static constexpr std::uint32_t kMagic = 0x314d4450;  // "PDM1"
  static constexpr std::uint16_t kVersion = 2;
  static constexpr std::size_t kSize = 4 + 2 + 2 + 8 + 8 + 8 + 8 + 4 + 4;
  // Upper bound on one message, header included; larger transfers are split.
  static constexpr std::size_t kMaxMessage = 64u << 20;

  MsgType type = 0;
  std::uint64_t epoch = 0;    // view epoch of the sender; stale requests are refused
  std::uint64_t call_id = 0;  // matches a response to its request
  // The operation a request belongs to, the same in every attempt at it
  // (call_across_views): a replayable handler applies an operation once and
  // answers a repeated attempt with the recorded reply. 0: not an operation.
  std::uint64_t op_client = 0;  // random per process
  std::uint64_t op_seq = 0;     // per process, from 1
  std::int32_t status = 0;      // 0, or the errno of a failed request (responses only)
  std::uint32_t payload_len = 0;

  void encode(Encoder &out) const;
  // Validates magic, version and that payload_len matches the bytes received.
  static Result<Header> decode(std::span<const std::byte> message);
};

// Starts a message: an Encoder holding a header placeholder; the payload is
// appended after it and finish() writes the real header in front.
Encoder begin_message();
// Writes the header (with payload_len derived from the encoder) and returns the bytes.
Bytes finish_message(Encoder &&message, Header header);
// The payload of a validated message.
inline std::span<const std::byte> payload_of(std::span<const std::byte> message) {
  return message.subspan(Header::kSize);
}

}  // namespace pdm::mpi
