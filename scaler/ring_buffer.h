#pragma once
// RingBuffer<T>: a FIFO sequence in one allocation, for the per-object records that grow
// at the back and are trimmed at the front for as long as an object is tracked (its
// history, the recent record, the forecast scores, the shortfall record).
//
// Why not std::deque: a deque allocates a 512-byte node every 512 bytes pushed and frees
// one every 512 bytes popped, so a tracked object's long-lived records are re-allocated
// piece by piece at every refresh, between that refresh's short-lived buffers (the
// query's response, the fit's scratch). With thousands of objects created and expired
// in turns, glibc's malloc keeps the holes they leave resident (docs/reliability.md,
// "Soak"). A RingBuffer allocates only when it grows, geometrically: in a steady state
// (as many elements popped as pushed) it allocates nothing, and an element's slot is
// reused in place (Append() hands back the slot, whose own containers keep their
// capacity).
//
// Capacity: grows to twice the elements (at least kMinCapacity) when full, never past
// max_capacity(); at max_capacity a push evicts the oldest element (the bound of a
// record that keeps its newest N). Reserve() sets the capacity at once when the caller
// knows the size it will need (a history window's point count).
//
// Slots are live objects: popped and evicted elements are not destroyed until they are
// overwritten or the buffer is, so T must be default-constructible and assignable (a
// value with containers keeps their memory for its next use).
//
// Thread-safety: none (as std::deque). Indices are 0 = oldest .. size() - 1 = newest.

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <iterator>
#include <limits>
#include <utility>
#include <vector>

namespace scaler {

template <typename T>
class RingBuffer {
 public:
  static constexpr size_t kMinCapacity = 16;
  static constexpr size_t kUnbounded = std::numeric_limits<size_t>::max();

  // `max_capacity` >= 1: the most elements kept (kUnbounded: grow as needed).
  explicit RingBuffer(size_t max_capacity = kUnbounded)
      : max_capacity_(std::max<size_t>(max_capacity, 1)) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return slots_.size(); }
  size_t max_capacity() const { return max_capacity_; }
  // How many times the storage was allocated (for tests and the soak's accounting).
  size_t allocations() const { return allocations_; }

  // Sets the capacity to at least min(n, max_capacity()) now, exactly; never shrinks.
  void Reserve(size_t n) {
    n = std::min(n, max_capacity_);
    if (n > slots_.size()) Reallocate(n);
  }
  // Makes room for min(n, max_capacity()) elements as a push would: if that is more than
  // the capacity, the capacity at least doubles (at least kMinCapacity, at most
  // max_capacity()). For a batch of pushes, so that it allocates once.
  void Grow(size_t n) {
    n = std::min(n, max_capacity_);
    if (n <= slots_.size()) return;
    const size_t doubled = slots_.size() > max_capacity_ / 2 ? max_capacity_ : 2 * slots_.size();
    Reallocate(std::min(max_capacity_, std::max({n, doubled, kMinCapacity})));
  }

  T& operator[](size_t i) {
    assert(i < size_);
    return slots_[Slot(i)];
  }
  const T& operator[](size_t i) const {
    assert(i < size_);
    return slots_[Slot(i)];
  }
  T& front() { return (*this)[0]; }
  const T& front() const { return (*this)[0]; }
  T& back() { return (*this)[size_ - 1]; }
  const T& back() const { return (*this)[size_ - 1]; }

  // Appends an element and returns it. The slot may hold a popped or evicted element's
  // old value: the caller sets all of it. Full at max_capacity(): the oldest is evicted.
  T& Append() {
    if (size_ == slots_.size()) {
      if (slots_.size() < max_capacity_) {
        Grow(size_ + 1);
      } else {
        pop_front();  // evict the oldest
      }
    }
    ++size_;
    return back();
  }
  void push_back(const T& v) { Append() = v; }
  void push_back(T&& v) { Append() = std::move(v); }

  void pop_front() {
    assert(size_ > 0);
    head_ = head_ + 1 == slots_.size() ? 0 : head_ + 1;
    --size_;
  }
  void pop_back() {
    assert(size_ > 0);
    --size_;
  }
  // Keeps the storage.
  void clear() {
    head_ = 0;
    size_ = 0;
  }

  // Removes the elements for which `pred` is true, keeping the others' order (as
  // std::remove_if + erase on a deque); returns how many were removed.
  template <typename Pred>
  size_t EraseIf(Pred pred) {
    size_t kept = 0;
    for (size_t i = 0; i < size_; ++i) {
      T& x = (*this)[i];
      if (pred(static_cast<const T&>(x))) continue;
      if (kept != i) std::swap((*this)[kept], x);  // the removed value stays in a free slot
      ++kept;
    }
    const size_t removed = size_ - kept;
    size_ = kept;
    return removed;
  }

  // Random-access iterators, oldest first (invalidated by any change of size).
  template <bool kConst>
  class Iter {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = std::conditional_t<kConst, const T*, T*>;
    using reference = std::conditional_t<kConst, const T&, T&>;
    using Owner = std::conditional_t<kConst, const RingBuffer, RingBuffer>;

    Iter() = default;
    Iter(Owner* owner, size_t i) : owner_(owner), i_(static_cast<difference_type>(i)) {}
    reference operator*() const { return (*owner_)[static_cast<size_t>(i_)]; }
    pointer operator->() const { return &**this; }
    reference operator[](difference_type d) const { return *(*this + d); }
    Iter& operator++() { ++i_; return *this; }
    Iter operator++(int) { Iter t = *this; ++i_; return t; }
    Iter& operator--() { --i_; return *this; }
    Iter operator--(int) { Iter t = *this; --i_; return t; }
    Iter& operator+=(difference_type d) { i_ += d; return *this; }
    Iter& operator-=(difference_type d) { i_ -= d; return *this; }
    friend Iter operator+(Iter a, difference_type d) { return a += d; }
    friend Iter operator+(difference_type d, Iter a) { return a += d; }
    friend Iter operator-(Iter a, difference_type d) { return a -= d; }
    friend difference_type operator-(const Iter& a, const Iter& b) { return a.i_ - b.i_; }
    friend bool operator==(const Iter& a, const Iter& b) { return a.i_ == b.i_; }
    friend bool operator!=(const Iter& a, const Iter& b) { return a.i_ != b.i_; }
    friend bool operator<(const Iter& a, const Iter& b) { return a.i_ < b.i_; }
    friend bool operator>(const Iter& a, const Iter& b) { return a.i_ > b.i_; }
    friend bool operator<=(const Iter& a, const Iter& b) { return a.i_ <= b.i_; }
    friend bool operator>=(const Iter& a, const Iter& b) { return a.i_ >= b.i_; }

   private:
    Owner* owner_ = nullptr;
    difference_type i_ = 0;
  };
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;
  iterator begin() { return iterator(this, 0); }
  iterator end() { return iterator(this, size_); }
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const { return const_iterator(this, size_); }

 private:
  size_t Slot(size_t i) const {
    const size_t s = head_ + i;
    return s >= slots_.size() ? s - slots_.size() : s;
  }
  void Reallocate(size_t n) {
    std::vector<T> grown(n);
    for (size_t i = 0; i < size_; ++i) grown[i] = std::move((*this)[i]);
    slots_.swap(grown);
    head_ = 0;
    ++allocations_;
  }

  size_t max_capacity_;
  std::vector<T> slots_;  // capacity() slots, all constructed
  size_t head_ = 0;       // the oldest element's slot
  size_t size_ = 0;
  size_t allocations_ = 0;
};

}  // namespace scaler
