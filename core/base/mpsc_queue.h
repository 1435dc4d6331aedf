#pragma once
// Lock-free multi-producer single-consumer queue (Vyukov's linked-list design):
// push is one atomic exchange, pop touches no shared cache line unless the
// queue is non-empty. Producers on any thread; pop only on the owning thread.
#include <atomic>
#include <optional>
#include <utility>

namespace rs {

template <typename T>
class MpscQueue {
 public:
  MpscQueue() : head_(&stub_), tail_(&stub_) {}
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;
  ~MpscQueue() {
    while (pop()) {
    }
    if (tail_ != &stub_) delete tail_;
  }

  void push(T value) {
    Node* node = new Node{std::move(value)};
    Node* previous = head_.exchange(node, std::memory_order_acq_rel);
    previous->next.store(node, std::memory_order_release);
  }

  // Empty also while a producer is between its two steps; that producer's
  // wake-up (after push returns) brings the consumer back.
  std::optional<T> pop() {
    Node* tail = tail_;
    Node* next = tail->next.load(std::memory_order_acquire);
    if (next == nullptr) return std::nullopt;
    std::optional<T> value(std::move(next->value));
    tail_ = next;  // `next` becomes the new (consumed) stub
    if (tail != &stub_) delete tail;
    return value;
  }

 private:
  struct Node {
    T value{};
    std::atomic<Node*> next{nullptr};
  };
  Node stub_;
  std::atomic<Node*> head_;  // last pushed
  Node* tail_;               // consumed; its successor is the next to pop
};

}  // namespace rs
