#pragma once
// Admission control across shards: sequences in flight (running or queued) up
// to --max-concurrency + --max-queue; beyond that the answer is 429. A request
// weighs its sequences (n choices over p prompts: n × p), so one request cannot
// bring more work than the limits allow. One atomic counter, taken and given
// back once per request.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>

namespace rs::api {

class Admission;

// A request's sequences while it is in flight; gives them back when destroyed.
class AdmissionTicket {
 public:
  AdmissionTicket() = default;
  AdmissionTicket(Admission* owner, uint32_t weight) : owner_(owner), weight_(weight) {}
  AdmissionTicket(AdmissionTicket&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)), weight_(other.weight_) {}
  AdmissionTicket& operator=(AdmissionTicket&& other) noexcept;
  ~AdmissionTicket();
  explicit operator bool() const { return owner_ != nullptr; }

 private:
  Admission* owner_ = nullptr;
  uint32_t weight_ = 0;
};

class Admission {
 public:
  explicit Admission(uint32_t limit) : limit_(limit) {}
  // `weight` sequences, or an empty ticket when they do not fit beside those in flight.
  AdmissionTicket take(uint32_t weight);
  uint32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  uint32_t limit() const { return limit_; }

 private:
  friend class AdmissionTicket;
  void give_back(uint32_t weight) { in_flight_.fetch_sub(weight, std::memory_order_relaxed); }

  const uint32_t limit_;
  std::atomic<uint32_t> in_flight_{0};
};

inline AdmissionTicket Admission::take(uint32_t weight) {
  uint32_t in_flight = in_flight_.load(std::memory_order_relaxed);
  do {
    if (weight > limit_ - std::min(in_flight, limit_)) return AdmissionTicket();
  } while (!in_flight_.compare_exchange_weak(in_flight, in_flight + weight, std::memory_order_relaxed));
  return AdmissionTicket(this, weight);
}

inline AdmissionTicket& AdmissionTicket::operator=(AdmissionTicket&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->give_back(weight_);
    owner_ = std::exchange(other.owner_, nullptr);
    weight_ = other.weight_;
  }
  return *this;
}

inline AdmissionTicket::~AdmissionTicket() {
  if (owner_) owner_->give_back(weight_);
}

}  // namespace rs::api
