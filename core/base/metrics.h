#pragma once
// Metric cells and the Prometheus text exposition format (version 0.0.4).
//
// Each cell has one writer thread (its shard or the engine) and any number of
// readers (whoever renders /metrics): relaxed loads and stores suffice, and the
// hot path never takes a lock or a locked read-modify-write.
#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace rs::metrics {

class Counter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void add(int64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(int64_t n) { value_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Latencies in seconds, with fixed buckets from 1 ms to 2 min (roughly ×2.5
// apart, as vLLM's): what TTFT, time per token and end-to-end latency span.
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1.0,    2.5,   5.0,  10.0,  20.0, 60.0, 120.0};
  void observe(double seconds);
  uint64_t count() const { return count_.value(); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t bucket(size_t i) const { return buckets_[i].value(); }  // observations ≤ kBounds[i], not cumulative

 private:
  std::array<Counter, kBounds.size()> buckets_;
  Counter count_;
  std::atomic<double> sum_{0};
};

struct Label {
  std::string_view name;
  std::string_view value;
};

// Builds an exposition: call family() once per metric name, then sample() for
// each of its series, before starting the next family.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // A histogram's _bucket (cumulative, le="…" and "+Inf"), _sum and _count
  // series; `label` (optional) is added to each.
  void histogram(std::string_view name, const Histogram& histogram, Label label = {});
  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace rs::metrics
