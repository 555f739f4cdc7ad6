// RAII ownership of LMDB transactions and cursors, private to the metadata
// store. A transaction that goes out of scope without commit() is aborted, so
// an early error return never leaves a mutation half-applied.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

namespace pdm::pfs::lmdb {

class Txn {
 public:
  Txn() = default;
  ~Txn() { abort(); }
  Txn(Txn &&other) noexcept
      : txn_(std::exchange(other.txn_, nullptr)), nested_(std::exchange(other.nested_, false)) {}
  Txn &operator=(Txn &&other) noexcept {
    if (this != &other) {
      abort();
      txn_ = std::exchange(other.txn_, nullptr);
      nested_ = std::exchange(other.nested_, false);
    }
    return *this;
  }
  Txn(const Txn &) = delete;
  Txn &operator=(const Txn &) = delete;

  // Returns the LMDB code of mdb_txn_begin.
  int begin(MDB_env *env, unsigned flags) {
    abort();
    nested_ = false;
    return mdb_txn_begin(env, nullptr, flags, &txn_);
  }
  // A write transaction nested in `parent`: its commit makes its changes
  // part of the parent's, its abort undoes them alone. The parent may do
  // nothing else until this one ends.
  int begin_nested(MDB_env *env, MDB_txn *parent) {
    abort();
    nested_ = true;
    return mdb_txn_begin(env, parent, 0, &txn_);
  }
  // LMDB frees the transaction whether or not the commit succeeds. Every
  // cursor of a write transaction must be closed before this call.
  int commit() { return mdb_txn_commit(std::exchange(txn_, nullptr)); }
  void abort() {
    if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
  }
  MDB_txn *get() const { return txn_; }
  bool nested() const { return nested_; }

 private:
  MDB_txn *txn_ = nullptr;
  bool nested_ = false;
};

// A cursor closed when it goes out of scope; it must not outlive its transaction.
class Cursor {
 public:
  Cursor() = default;
  ~Cursor() { close(); }
  Cursor(const Cursor &) = delete;
  Cursor &operator=(const Cursor &) = delete;

  int open(MDB_txn *txn, MDB_dbi dbi) {
    close();
    return mdb_cursor_open(txn, dbi, &cursor_);
  }
  int get(MDB_val *key, MDB_val *data, MDB_cursor_op op) {
    return mdb_cursor_get(cursor_, key, data, op);
  }
  void close() {
    if (cursor_ != nullptr) mdb_cursor_close(std::exchange(cursor_, nullptr));
  }

 private:
  MDB_cursor *cursor_ = nullptr;
};

// LMDB's API is not const-correct; it never writes through a key or data it is given.
inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char *>(s.data())};
}
inline MDB_val to_val(std::span<const std::byte> bytes) {
  return MDB_val{bytes.size(), const_cast<std::byte *>(bytes.data())};
}
inline std::string_view view_of(const MDB_val &v) {
  return {static_cast<const char *>(v.mv_data), v.mv_size};
}
inline std::span<const std::byte> bytes_of(const MDB_val &v) {
  return {static_cast<const std::byte *>(v.mv_data), v.mv_size};
}

}  // namespace pdm::pfs::lmdb
