#include "runtime/mpi/message.h"

#include <algorithm>

namespace pdm::mpi {

void Header::encode(Encoder &out) const {
  out.put(kMagic)
      .put(kVersion)
      .put(type)
      .put(epoch)
      .put(call_id)
      .put(op_client)
      .put(op_seq)
      .put(status)
      .put(payload_len);
}

Result<Header> Header::decode(std::span<const std::byte> message) {
  if (message.size() < kSize) {
    return make_error(EPROTO, "message of {} bytes is shorter than the {}-byte header",
                      message.size(), kSize);
  }
  if (message.size() > kMaxMessage) {
    return make_error(EPROTO, "message of {} bytes exceeds the limit of {}", message.size(),
                      kMaxMessage);
  }
  Decoder in(message.first(kSize));
  PDM_ASSIGN_OR_RETURN(auto magic, in.get<std::uint32_t>());
  if (magic != kMagic) return make_error(EPROTO, "message: bad magic {:#x}", magic);
  PDM_ASSIGN_OR_RETURN(auto version, in.get<std::uint16_t>());
  if (version != kVersion) {
    return make_error(EPROTO, "message: protocol version {} (this build speaks {})", version,
                      kVersion);
  }
  Header h;
  PDM_ASSIGN_OR_RETURN(h.type, in.get<MsgType>());
  PDM_ASSIGN_OR_RETURN(h.epoch, in.get<std::uint64_t>());
  PDM_ASSIGN_OR_RETURN(h.call_id, in.get<std::uint64_t>());
  PDM_ASSIGN_OR_RETURN(h.op_client, in.get<std::uint64_t>());
  PDM_ASSIGN_OR_RETURN(h.op_seq, in.get<std::uint64_t>());
  PDM_ASSIGN_OR_RETURN(h.status, in.get<std::int32_t>());
  PDM_ASSIGN_OR_RETURN(h.payload_len, in.get<std::uint32_t>());
  if (h.payload_len != message.size() - kSize) {
    return make_error(EPROTO, "message: header announces {} payload bytes, {} received",
                      h.payload_len, message.size() - kSize);
  }
  return h;
}

Encoder begin_message() {
  return Encoder(Bytes(Header::kSize));
}

Bytes finish_message(Encoder &&message, Header header) {
  Bytes bytes = std::move(message).take();
  header.payload_len = static_cast<std::uint32_t>(bytes.size() - Header::kSize);
  Encoder head;
  header.encode(head);
  std::copy(head.bytes().begin(), head.bytes().end(), bytes.begin());
  return bytes;
}

}  // namespace pdm::mpi
