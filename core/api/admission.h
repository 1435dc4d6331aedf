#pragma once
// Admission control across shards: requests in flight (running or queued) up
// to --max-concurrency + --max-queue; beyond that the answer is 429. One
// atomic counter, taken and given back once per request.
#include <atomic>
#include <cstdint>
#include <utility>

namespace rs::api {

class Admission;

// A slot while a request is in flight; gives it back when destroyed.
class AdmissionTicket {
 public:
  AdmissionTicket() = default;
  explicit AdmissionTicket(Admission* owner) : owner_(owner) {}
  AdmissionTicket(AdmissionTicket&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
  AdmissionTicket& operator=(AdmissionTicket&& other) noexcept;
  ~AdmissionTicket();
  explicit operator bool() const { return owner_ != nullptr; }

 private:
  Admission* owner_ = nullptr;
};

class Admission {
 public:
  explicit Admission(uint32_t limit) : limit_(limit) {}
  // An empty ticket when `limit` requests are in flight already.
  AdmissionTicket take();
  uint32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  uint32_t limit() const { return limit_; }

 private:
  friend class AdmissionTicket;
  void give_back() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  const uint32_t limit_;
  std::atomic<uint32_t> in_flight_{0};
};

inline AdmissionTicket Admission::take() {
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= limit_) {
    give_back();
    return AdmissionTicket();
  }
  return AdmissionTicket(this);
}

inline AdmissionTicket& AdmissionTicket::operator=(AdmissionTicket&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->give_back();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

inline AdmissionTicket::~AdmissionTicket() {
  if (owner_) owner_->give_back();
}

}  // namespace rs::api
