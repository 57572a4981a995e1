#pragma once
// std::mutex and std::shared_mutex with clang's thread-safety annotations
// (absl/base/thread_annotations.h), so that ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED
// on the members they guard are checked by clang's -Wthread-safety (on in clang builds:
// cmake/AugurTargets.cmake), not only read.
//
// Why not absl::Mutex, which is annotated already: Debian's abseil is not built with
// ThreadSanitizer, so TSan would not see its locking and would report every access it
// orders as a race; the standard mutexes lock through pthreads, which TSan intercepts.
// The standard ones are not annotated in libstdc++, hence these thin wrappers.
//
// Condition waits: MutexLock::native() is the std::unique_lock that Clock::WaitUntil and
// std::condition_variable take. A wait predicate is a separate function to the analysis:
// it starts with `mu.AssertHeld()`.
//
// Thread-safety: as the standard mutexes.

#include <mutex>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"

namespace scaler {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Tells the analysis the lock is held (inside a wait predicate); checks nothing.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds `mu` for its lifetime (it may be released and taken again by a condition wait).
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : lock_(mu.mu_) {}
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // For condition waits only: the lock is held again when they return.
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

class ABSL_LOCKABLE SharedMutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_.ReaderLock();
  }
  ~ReaderLock() ABSL_UNLOCK_FUNCTION() { mu_.ReaderUnlock(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

class ABSL_SCOPED_LOCKABLE WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterLock() ABSL_UNLOCK_FUNCTION() { mu_.Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace scaler
