// ObjectAccess: how the file system honours DMAPI access rights without
// knowing about sessions or tokens (DESIGN.md §5, issue #3). Each file
// operation on an object asks the DM layer first and holds the answer (an
// AccessGuard) while it runs:
//   - a read (pread, fstat) is excluded by an EXCL right on the object;
//   - a modification (pwrite, truncate, unlink or rename of it) by any right.
// begin() blocks while a right excludes the operation and counts it as in
// flight once it may go on, so a DM application that is granted a right can
// wait for the operations that started before it (see runtime/dm/rights_service.h).
//
// Operations that name their object by path (unlink, rename) do not know its
// inode without a metadata call; begin_unresolved() lets them skip that call
// whenever no right is held on any object at all (then the operation counts
// as in flight on every object).
//
// A synchronous event of an operation is raised before its guard is taken:
// the session answering it may request a right on the same object.
#pragma once

#include <cstdint>
#include <optional>

#include "pfs/meta/inode.h"
#include "runtime/base/result.h"

namespace pdm::pfs {

enum class AccessKind : std::uint8_t { kRead = 0, kModify = 1 };

class ObjectAccess;

// Ends the operation's access when destroyed.
class AccessGuard {
 public:
  AccessGuard() = default;
  AccessGuard(ObjectAccess *access, InodeNumber ino, AccessKind kind)
      : access_(access), ino_(ino), kind_(kind) {}
  AccessGuard(AccessGuard &&other) noexcept
      : access_(other.access_), ino_(other.ino_), kind_(other.kind_) {
    other.access_ = nullptr;
  }
  AccessGuard &operator=(AccessGuard &&other) noexcept {
    if (this != &other) {
      release();
      access_ = other.access_;
      ino_ = other.ino_;
      kind_ = other.kind_;
      other.access_ = nullptr;
    }
    return *this;
  }
  AccessGuard(const AccessGuard &) = delete;
  AccessGuard &operator=(const AccessGuard &) = delete;
  ~AccessGuard() { release(); }

 private:
  inline void release();

  ObjectAccess *access_ = nullptr;
  InodeNumber ino_ = 0;  // 0: in flight on every object (begin_unresolved)
  AccessKind kind_ = AccessKind::kRead;
};

class ObjectAccess {
 public:
  virtual ~ObjectAccess() = default;
  // Waits while a DM right excludes `kind` on `ino`, then counts the
  // operation as in flight until the guard is destroyed.
  virtual Result<AccessGuard> begin(InodeNumber ino, AccessKind kind) = 0;
  // A guard for an operation whose object is not resolved yet, if no right
  // is held on any object; nullopt: resolve the inode and call begin().
  virtual std::optional<AccessGuard> begin_unresolved(AccessKind kind) = 0;

 protected:
  friend class AccessGuard;
  virtual void end(InodeNumber ino, AccessKind kind) = 0;
};

inline void AccessGuard::release() {
  if (access_ != nullptr) access_->end(ino_, kind_);
  access_ = nullptr;
}

}  // namespace pdm::pfs
