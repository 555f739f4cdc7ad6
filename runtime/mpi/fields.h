// Typed messages by field list. A message struct lists its members once:
//
//   struct UnlinkRequest {
//     std::string path;
//     auto fields() { return std::tie(path); }
//   };
//
// and encode()/decode() below serialise it: integers and enums, bool,
// strings (at most kMaxString bytes), optionals, vectors (at most kMaxItems
// elements), nested field structs and types with their own encode/decode.
// Decoding is bounded and checks that the payload is consumed exactly.
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "runtime/mpi/codec.h"
#include "runtime/mpi/message.h"

namespace pdm::mpi {

inline constexpr std::size_t kMaxString = 64 * 1024;
inline constexpr std::size_t kMaxItems = 1u << 20;

// A struct lists its fields with a member fields(), or, for a struct that
// belongs to a lower layer and should not know about the wire, with a free
// function wire_fields(T&) found by argument-dependent lookup.
template <typename T>
concept HasMemberFields = requires(T &t) {
  t.fields();
};
template <typename T>
concept HasFreeFields = requires(T &t) {
  wire_fields(t);
};
template <typename T>
concept FieldStruct = HasMemberFields<T> || HasFreeFields<T>;

template <typename T>
auto field_tuple(T &value) {
  if constexpr (HasMemberFields<T>) {
    return value.fields();
  } else {
    return wire_fields(value);
  }
}

template <typename T>
concept SelfCoded = requires(const T &t, Encoder &e, Decoder &d) {
  t.encode(e);
  { T::decode(d) } -> std::same_as<Result<T>>;
};

template <typename T>
void encode_field(Encoder &out, const T &value);
template <typename T>
Status decode_field(Decoder &in, T &value);

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

template <typename T>
void encode_field(Encoder &out, const T &value) {
  if constexpr (std::is_same_v<T, bool>) {
    out.put_bool(value);
  } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
    out.put(value);
  } else if constexpr (std::is_same_v<T, std::string>) {
    out.put_string(value);
  } else if constexpr (IsOptional<T>::value) {
    out.put_bool(value.has_value());
    if (value) encode_field(out, *value);
  } else if constexpr (IsVector<T>::value) {
    out.put<std::uint32_t>(static_cast<std::uint32_t>(value.size()));
    for (const auto &item : value) encode_field(out, item);
  } else if constexpr (SelfCoded<T>) {
    value.encode(out);
  } else {
    static_assert(FieldStruct<T>, "encode_field: unsupported type");
    std::apply([&](const auto &...f) { (encode_field(out, f), ...); },
               field_tuple(const_cast<T &>(value)));
  }
}

template <typename T>
Status decode_field(Decoder &in, T &value) {
  if constexpr (std::is_same_v<T, bool>) {
    PDM_ASSIGN_OR_RETURN(value, in.get_bool());
  } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
    PDM_ASSIGN_OR_RETURN(value, in.get<T>());
  } else if constexpr (std::is_same_v<T, std::string>) {
    PDM_ASSIGN_OR_RETURN(value, in.get_string(kMaxString));
  } else if constexpr (IsOptional<T>::value) {
    PDM_ASSIGN_OR_RETURN(bool present, in.get_bool());
    value.reset();
    if (present) {
      typename T::value_type inner{};
      PDM_TRY(decode_field(in, inner));
      value = std::move(inner);
    }
  } else if constexpr (IsVector<T>::value) {
    PDM_ASSIGN_OR_RETURN(auto count, in.get<std::uint32_t>());
    // Every element takes at least one byte, which bounds the allocation.
    if (count > kMaxItems || count > in.remaining()) {
      return make_error(EPROTO, "message: list of {} items with {} bytes left", count,
                        in.remaining());
    }
    value.clear();
    value.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      typename T::value_type item{};
      PDM_TRY(decode_field(in, item));
      value.push_back(std::move(item));
    }
  } else if constexpr (SelfCoded<T>) {
    PDM_ASSIGN_OR_RETURN(value, T::decode(in));
  } else {
    static_assert(FieldStruct<T>, "decode_field: unsupported type");
    Status status;
    std::apply([&](auto &...f) { ((status.ok() ? (status = decode_field(in, f), 0) : 0), ...); },
               field_tuple(value));
    return status;
  }
  return {};
}

// A request or response message holding `value` (header filled in later).
template <typename T>
Encoder encode_message(const T &value) {
  Encoder out = begin_message();
  encode_field(out, value);
  return out;
}

// Appends `value` to a response being built by a handler.
template <typename T>
void encode_into(Encoder &out, const T &value) {
  encode_field(out, value);
}

// Decodes a whole payload into T; trailing bytes are an error.
template <typename T>
Result<T> decode_payload(std::span<const std::byte> payload) {
  Decoder in(payload);
  T value{};
  PDM_TRY(decode_field(in, value));
  PDM_TRY(in.expect_end());
  return value;
}

// An empty message body (requests and responses without fields).
struct Empty {
  auto fields() { return std::tie(); }
};

}  // namespace pdm::mpi
