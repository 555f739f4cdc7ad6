#include "pfs/data/data_client.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "pfs/data/data_protocol.h"
#include "pfs/data/dm_data_protocol.h"
#include "pfs/volume_map.h"

namespace pdm::pfs {

DataClient::DataClient(mpi::RpcEngine &engine, ObjectStore &objects, std::uint64_t max_request,
                       std::vector<bool> direct)
    : engine_(engine),
      objects_(objects),
      max_request_(std::max<std::uint64_t>(max_request, 4096)),
      direct_(std::move(direct)) {}

bool DataClient::handled_here(std::uint32_t volume, const cluster::View &view) const {
  return owner_of(volume, view) == view.self() || (volume < direct_.size() && direct_[volume]);
}

std::vector<DataClient::Chunk> DataClient::plan(const Layout &layout, std::uint64_t offset,
                                                std::uint64_t length,
                                                std::uint64_t buffer_base) const {
  std::vector<Chunk> chunks;
  for (const auto &range : layout.by_volume(offset, length)) {
    Chunk current{range.volume, range.object_offset, 0, {}};
    for (const auto &piece : range.pieces) {
      std::uint64_t done = 0;
      while (done < piece.length) {
        if (current.length == max_request_) {
          const std::uint64_t next = current.object_offset + current.length;
          chunks.push_back(std::move(current));
          current = Chunk{range.volume, next, 0, {}};
        }
        const std::uint64_t take = std::min(piece.length - done, max_request_ - current.length);
        current.segments.push_back({buffer_base + piece.file_offset - offset + done, take});
        current.length += take;
        done += take;
      }
    }
    if (current.length > 0) chunks.push_back(std::move(current));
  }
  return chunks;
}

std::vector<DataClient::Chunk> DataClient::plan_extents(const Layout &layout,
                                                        std::span<const ByteRange> extents) const {
  std::vector<Chunk> chunks;
  std::uint64_t base = 0;
  for (const ByteRange &extent : extents) {
    auto planned = plan(layout, extent.offset, extent.length, base);
    chunks.insert(chunks.end(), std::make_move_iterator(planned.begin()),
                  std::make_move_iterator(planned.end()));
    base += extent.length;
  }
  return chunks;
}

template <typename Item, typename Local, typename Build, typename Done>
Status DataClient::run_batched(std::span<const Item> items, mpi::MsgType type, Local local,
                               Build request, Done done) {
  Status status;
  for (std::size_t first = 0; first < items.size(); first += kMaxChunksInFlight) {
    const std::size_t last = std::min(items.size(), first + kMaxChunksInFlight);
    if (auto s = run(items.subspan(first, last - first), type, local, request, done);
        !s.ok() && status.ok()) {
      status = std::move(s);
    }
  }
  return status;
}

template <typename Item, typename Local, typename Build, typename Done>
Status DataClient::run(std::span<const Item> items, mpi::MsgType type, Local local, Build request,
                       Done done) {
  // Chunks still to do; a pass that loses some to a view change (ESTALE:
  // their owner died, or one side had not installed the new view yet) sends
  // them again in the view that follows (issue #4, DESIGN.md §7). Ownership
  // is a function of the view, so the retry goes to the volume's new owner.
  std::vector<const Item *> todo;
  for (const auto &item : items) todo.push_back(&item);
  Status status;
  const auto deadline = std::chrono::steady_clock::now() + kViewChangeRetryLimit;
  for (;;) {
    auto view = engine_.membership().current();
    std::vector<mpi::PendingCall> calls;
    std::vector<const Item *> remote;
    for (const Item *chunk : todo) {
      if (handled_here(chunk->volume, *view)) continue;
      calls.push_back(engine_.start(owner_of(chunk->volume, *view), type, request(*chunk)));
      remote.push_back(chunk);
    }
    for (const Item *chunk : todo) {
      if (!handled_here(chunk->volume, *view)) continue;
      if (auto s = local(*chunk); !s.ok() && status.ok()) status = std::move(s);
    }
    auto responses = engine_.wait_all(calls);
    std::vector<const Item *> stale;
    for (std::size_t i = 0; i < responses.size(); ++i) {
      if (!responses[i].ok()) {
        if (responses[i].error().code == ESTALE) {
          stale.push_back(remote[i]);
        } else if (status.ok()) {
          status = std::move(responses[i]).error();
        }
        continue;
      }
      if (auto s = done(*remote[i], *responses[i]); !s.ok() && status.ok()) status = std::move(s);
    }
    if (stale.empty()) return status;
    if (std::chrono::steady_clock::now() > deadline) {
      return status.ok()
                 ? make_error(ESTALE, "{} data requests kept failing across view changes for {} s",
                              stale.size(), kViewChangeRetryLimit.count())
                 : status;
    }
    // The owner died and this rank installed the next view: retry at once.
    // Otherwise the peer was ahead (it refused a request of the old epoch):
    // pause until this rank's view catches up.
    if (engine_.membership().current() == view) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    todo = std::move(stale);
  }
}

Status DataClient::write(const Layout &layout, InodeNumber ino, std::uint64_t offset,
                         std::span<const std::byte> data) {
  const ByteRange whole{offset, data.size()};
  return write_extents(layout, ino, {&whole, 1}, data);
}

Status DataClient::write_extents(const Layout &layout, InodeNumber ino,
                                 std::span<const ByteRange> extents,
                                 std::span<const std::byte> data) {
  const auto chunks = plan_extents(layout, extents);
  auto local = [&](const Chunk &chunk) -> Status {
    std::uint64_t object_offset = chunk.object_offset;
    for (const auto &seg : chunk.segments) {
      PDM_TRY(objects_.write(chunk.volume, ino, object_offset,
                             data.subspan(seg.buffer_offset, seg.length)));
      object_offset += seg.length;
    }
    return {};
  };
  auto request = [&](const Chunk &chunk) {
    mpi::Encoder out = mpi::begin_message();
    mpi::encode_field(out, ObjectRange{chunk.volume, ino, chunk.object_offset, chunk.length});
    for (const auto &seg : chunk.segments) out.put_raw(data.subspan(seg.buffer_offset, seg.length));
    return out;
  };
  auto done = [](const Chunk &, const mpi::Response &) { return Status{}; };
  return run_batched(std::span<const Chunk>(chunks), data_msg::kWrite, local, request, done);
}

Status DataClient::read(const Layout &layout, InodeNumber ino, std::uint64_t offset,
                        std::span<std::byte> data) {
  const ByteRange whole{offset, data.size()};
  return read_extents(layout, ino, {&whole, 1}, data);
}

Status DataClient::read_extents(const Layout &layout, InodeNumber ino,
                                std::span<const ByteRange> extents, std::span<std::byte> data) {
  const auto chunks = plan_extents(layout, extents);
  // The chunks of a volume go together, up to max_request bytes and
  // kMaxRangesPerRequest ranges a request.
  std::vector<Gather> gathers;
  constexpr std::size_t kNone = ~std::size_t{0};
  std::vector<std::size_t> filling(objects_.volume_count(), kNone);  // volume -> its last gather
  for (const Chunk &chunk : chunks) {
    std::size_t &at = filling[chunk.volume];  // the layout's volumes are the store's
    if (at == kNone || gathers[at].length + chunk.length > max_request_ ||
        gathers[at].chunks.size() == kMaxRangesPerRequest) {
      gathers.push_back({chunk.volume, {}, 0});
      at = gathers.size() - 1;
    }
    Gather &gather = gathers[at];
    gather.chunks.push_back(&chunk);
    gather.length += chunk.length;
  }
  // Scatters `got` bytes of object data over the chunk's segments, zeros after.
  auto scatter = [&](const Chunk &chunk, std::span<const std::byte> got) {
    std::uint64_t pos = 0;
    for (const auto &seg : chunk.segments) {
      auto dst = data.subspan(seg.buffer_offset, seg.length);
      const std::uint64_t have = pos < got.size() ? std::min(seg.length, got.size() - pos) : 0;
      if (have > 0) std::memcpy(dst.data(), got.data() + pos, have);
      std::memset(dst.data() + have, 0, seg.length - have);
      pos += seg.length;
    }
  };
  auto local = [&](const Gather &gather) -> Status {
    std::vector<ReadPiece> pieces;
    for (const Chunk *chunk : gather.chunks) {
      std::uint64_t object_offset = chunk->object_offset;
      for (const auto &seg : chunk->segments) {
        pieces.push_back({object_offset, seg.length, data.data() + seg.buffer_offset, 0});
        object_offset += seg.length;
      }
    }
    return objects_.read_pieces(gather.volume, ino, pieces);
  };
  auto request = [&](const Gather &gather) {
    ObjectRanges ranges{gather.volume, ino, {}};
    ranges.ranges.reserve(gather.chunks.size());
    for (const Chunk *chunk : gather.chunks) {
      ranges.ranges.push_back({chunk->object_offset, chunk->length});
    }
    return mpi::encode_message(ranges);
  };
  auto done = [&](const Gather &gather, const mpi::Response &response) -> Status {
    const auto got = response.payload();
    if (got.size() > gather.length) {
      return make_error(EPROTO, "read of {} bytes answered with {}", gather.length, got.size());
    }
    // The answer may end early (the object ends inside its last ranges).
    std::uint64_t pos = 0;
    for (const Chunk *chunk : gather.chunks) {
      const std::uint64_t have = pos < got.size() ? std::min(chunk->length, got.size() - pos) : 0;
      scatter(*chunk, got.subspan(std::min<std::uint64_t>(pos, got.size()), have));
      pos += chunk->length;
    }
    return {};
  };
  return run_batched(std::span<const Gather>(gathers), data_msg::kReadRanges, local, request, done);
}

Status DataClient::on_every_volume(mpi::MsgType type, InodeNumber ino,
                                   const std::function<std::uint64_t(std::uint32_t)> &length_of) {
  std::vector<Chunk> chunks;
  for (std::uint32_t v = 0; v < objects_.volume_count(); ++v) chunks.push_back({v, 0, 0, {}});
  auto local = [&](const Chunk &chunk) -> Status {
    switch (type) {
      case data_msg::kTruncate:
        return objects_.truncate(chunk.volume, ino, length_of(chunk.volume));
      case data_msg::kRemove:
        return objects_.remove(chunk.volume, ino);
      default:
        return objects_.sync(chunk.volume, ino);
    }
  };
  auto request = [&](const Chunk &chunk) {
    return mpi::encode_message(ObjectRange{chunk.volume, ino, 0, length_of(chunk.volume)});
  };
  auto done = [](const Chunk &, const mpi::Response &) { return Status{}; };
  return run(std::span<const Chunk>(chunks), type, local, request, done);
}

Status DataClient::truncate(const Layout &layout, InodeNumber ino, std::uint64_t file_size) {
  return on_every_volume(data_msg::kTruncate, ino, [&](std::uint32_t volume) {
    return layout.object_length_for(file_size, volume);
  });
}

Status DataClient::remove(InodeNumber ino) {
  return on_every_volume(data_msg::kRemove, ino, [](std::uint32_t) { return 0; });
}

Status DataClient::sync(InodeNumber ino) {
  return on_every_volume(data_msg::kSync, ino, [](std::uint32_t) { return 0; });
}

Status DataClient::punch(const Layout &layout, InodeNumber ino, std::uint64_t offset,
                         std::uint64_t length) {
  const auto chunks = plan(layout, offset, length);
  auto local = [&](const Chunk &chunk) {
    return objects_.punch(chunk.volume, ino, chunk.object_offset, chunk.length);
  };
  auto request = [&](const Chunk &chunk) {
    return mpi::encode_message(ObjectRange{chunk.volume, ino, chunk.object_offset, chunk.length});
  };
  auto done = [](const Chunk &, const mpi::Response &) { return Status{}; };
  return run(std::span<const Chunk>(chunks), dm_data_msg::kPunch, local, request, done);
}

Result<std::vector<ByteRange>> DataClient::data_ranges(const Layout &layout, InodeNumber ino) {
  std::vector<Chunk> chunks;
  for (std::uint32_t v = 0; v < objects_.volume_count(); ++v) chunks.push_back({v, 0, 0, {}});
  std::vector<ByteRange> file_ranges;
  // An object range covers every stripe it crosses; each stripe piece is a
  // contiguous file range.
  auto add = [&](std::uint32_t volume, const std::vector<ByteRange> &ranges) {
    const std::uint64_t stripe = layout.stripe_size();
    for (const ByteRange &r : ranges) {
      for (std::uint64_t at = r.offset; at < r.end();) {
        const std::uint64_t piece_end = std::min(r.end(), (at / stripe + 1) * stripe);
        file_ranges.push_back({layout.file_offset_of(volume, at), piece_end - at});
        at = piece_end;
      }
    }
  };
  auto local = [&](const Chunk &chunk) -> Status {
    PDM_ASSIGN_OR_RETURN(auto ranges, objects_.data_ranges(chunk.volume, ino));
    add(chunk.volume, ranges);
    return {};
  };
  auto request = [&](const Chunk &chunk) {
    return mpi::encode_message(ObjectRange{chunk.volume, ino, 0, 0});
  };
  auto done = [&](const Chunk &chunk, const mpi::Response &response) -> Status {
    PDM_ASSIGN_OR_RETURN(auto ranges,
                         mpi::decode_payload<std::vector<ByteRange>>(response.payload()));
    add(chunk.volume, ranges);
    return {};
  };
  PDM_TRY(run(std::span<const Chunk>(chunks), dm_data_msg::kDataRanges, local, request, done));
  std::sort(file_ranges.begin(), file_ranges.end(),
            [](const ByteRange &a, const ByteRange &b) { return a.offset < b.offset; });
  std::vector<ByteRange> merged;
  for (const ByteRange &r : file_ranges) {
    if (!merged.empty() && merged.back().end() >= r.offset) {
      merged.back().length = std::max(merged.back().end(), r.end()) - merged.back().offset;
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

Result<std::vector<VolumeUsage>> DataClient::usage() {
  std::vector<Chunk> chunks;
  for (std::uint32_t v = 0; v < objects_.volume_count(); ++v) chunks.push_back({v, 0, 0, {}});
  std::vector<VolumeUsage> out(objects_.volume_count());
  auto local = [&](const Chunk &chunk) -> Status {
    PDM_ASSIGN_OR_RETURN(out[chunk.volume], objects_.usage(chunk.volume));
    return {};
  };
  auto request = [](const Chunk &chunk) {
    return mpi::encode_message(VolumeRequest{chunk.volume});
  };
  auto done = [&](const Chunk &chunk, const mpi::Response &response) -> Status {
    PDM_ASSIGN_OR_RETURN(out[chunk.volume], mpi::decode_payload<VolumeUsage>(response.payload()));
    return {};
  };
  PDM_TRY(run(std::span<const Chunk>(chunks), data_msg::kUsage, local, request, done));
  return out;
}

}  // namespace pdm::pfs
