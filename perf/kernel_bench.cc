// The CPU kernels on one thread (Google Benchmark): matmul per weight type at
// decode (n_tokens 1, 8, 32) and prefill (512) shapes, reporting weight bytes
// read per second (bytes_per_second), tokens/s and GFLOP/s; the per-row ops;
// and the machine's memory read bandwidth (1 GiB streamed by 1 and 2 threads),
// the bound that batch-1 decode should reach 85% of.
//
// Decode shapes cycle through copies of the matrix filling 1 GiB, so that its
// weights come from memory as a model's do, not from the last call's cache.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/kernels/matmul.h"
#include "core/kernels/ops.h"
#include "core/kernels/targets.h"
#include "core/model/tensor_type.h"
#include "hwy/targets.h"
#include "tests/kernels/random_matrix.h"

namespace rs::kernels {
namespace {

using model::TensorType;

constexpr size_t kGiB = size_t{1} << 30;

// Memory in 2 MiB huge pages where the kernel grants them (as large model
// mappings get), every page touched before timing.
struct HugeBuffer {
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte[], Free> data;
  size_t size = 0;

  explicit HugeBuffer(size_t bytes) : size(bytes) {
    constexpr size_t kHugePage = size_t{2} << 20;
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    data.reset(static_cast<std::byte*>(std::aligned_alloc(kHugePage, rounded)));
    madvise(data.get(), rounded, MADV_HUGEPAGE);
    std::memset(data.get(), 1, bytes);
  }
};

// ---- Memory read bandwidth: `threads` threads each sum their share of 1 GiB,
// as one sequential stream (what the hardware prefetchers make of it) or with
// software prefetches 4 KiB ahead (nearer the most one core can draw).

template <bool kPrefetch>
uint64_t sum_words(const uint64_t* words, size_t n) {
  uint64_t sum[8] = {};  // independent adds: the loads, not the adder, set the pace
  for (size_t i = 0; i < n; i += 8) {
    if constexpr (kPrefetch) __builtin_prefetch(words + i + 4096 / sizeof(uint64_t));
    for (size_t k = 0; k < 8; ++k) sum[k] += words[i + k];
  }
  return sum[0] + sum[1] + sum[2] + sum[3] + sum[4] + sum[5] + sum[6] + sum[7];
}

template <bool kPrefetch>
void MemoryRead(benchmark::State& state) {
  static const HugeBuffer buffer(kGiB);
  const size_t threads = size_t(state.range(0));
  const size_t words = buffer.size / sizeof(uint64_t) / threads;
  const auto* data = reinterpret_cast<const uint64_t*>(buffer.data.get());
  std::vector<uint64_t> sums(threads);
  for (auto _ : state) {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] { sums[t] = sum_words<kPrefetch>(data + t * words, words); });
    }
    for (std::thread& thread : pool) thread.join();
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * buffer.size));
}

// The calling thread and one helper, spinning (yielding, should the machine
// be busy) between jobs as an engine's pool does during decode: a job splits
// its rows in two.
class TwoThreads {
 public:
  TwoThreads() : helper_([this] { serve(); }) {}
  ~TwoThreads() {
    stop_ = true;
    epoch_.fetch_add(1);
    helper_.join();
  }

  template <class Job>  // job(part) for part 0 and 1, part 1 on the helper
  void run(const Job& job) {
    job_ = [&job] { job(1); };
    done_.store(false);
    epoch_.fetch_add(1);
    job(0);
    while (!done_.load()) std::this_thread::yield();
  }

 private:
  void serve() {
    for (uint64_t seen = 0;;) {
      while (epoch_.load() == seen) std::this_thread::yield();
      ++seen;
      if (stop_) return;
      job_();
      done_.store(true);
    }
  }

  std::function<void()> job_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> done_{false};
  std::atomic<bool> stop_{false};
  std::thread helper_;
};

// ---- matmul

struct Shape {
  size_t rows, cols, tokens;
};

// A matrix of `type` and its copies, kept from one run of a benchmark to the
// next (Google Benchmark calls it several times) and rebuilt for another.
struct Weights {
  TensorType type;
  size_t rows, cols;
  RandomMatrix matrix;
  size_t copies;
  HugeBuffer pool;

  Weights(TensorType type, size_t rows, size_t cols, size_t copies, std::mt19937& rng)
      : type(type),
        rows(rows),
        cols(cols),
        matrix(random_matrix(type, rows, cols, rng)),
        copies(copies),
        pool(copies * matrix.prepared.size()) {
    for (size_t c = 0; c < copies; ++c) std::memcpy(pool.data.get() + c * bytes(), matrix.prepared.data(), bytes());
  }
  size_t bytes() const { return matrix.prepared.size(); }
  Matrix copy(size_t c) const {
    Matrix m = matrix.matrix();
    m.data = pool.data.get() + c * bytes();
    return m;
  }
};

const Weights& weights(TensorType type, size_t rows, size_t cols, bool from_memory, std::mt19937& rng) {
  static std::unique_ptr<Weights> cached;
  const size_t bytes = *model::tensor_bytes(type, rows * cols);
  const size_t copies = from_memory ? std::max<size_t>(2, kGiB / bytes) : 1;
  if (!cached || cached->type != type || cached->rows != rows || cached->cols != cols || cached->copies != copies) {
    cached.reset();
    cached = std::make_unique<Weights>(type, rows, cols, copies, rng);
  }
  return *cached;
}

// Weights come from memory (a fresh copy each time, out of every cache) where
// few tokens share them, as in decode; from cache otherwise or if `cached`.
void Matmul(benchmark::State& state, TensorType type, Shape shape, size_t threads, bool cached) {
  std::mt19937 rng(1);
  const Weights& w = weights(type, shape.rows, shape.cols, shape.tokens <= 64 && !cached, rng);
  const std::vector<float> x = uniform_floats(shape.tokens * shape.cols, rng);
  Activations prepared;
  prepared.prepare(type, x.data(), shape.tokens, shape.cols);
  std::vector<float> y(shape.tokens * shape.rows);
  std::unique_ptr<TwoThreads> pair;
  if (threads == 2) pair = std::make_unique<TwoThreads>();
  size_t next = 0;
  for (auto _ : state) {
    const Matrix m = w.copy(next);
    next = (next + 1) % w.copies;
    if (pair) {
      pair->run([&](size_t part) {
        const size_t half = shape.rows / 2;
        matmul(m, prepared, y.data(), shape.rows, part * half, part == 0 ? half : shape.rows);
      });
    } else {
      matmul(m, prepared, y.data(), shape.rows, 0, shape.rows);
    }
    benchmark::DoNotOptimize(y.data());
  }
  const double n = double(state.iterations());
  state.SetBytesProcessed(int64_t(n * double(w.bytes())));
  state.counters["tokens/s"] = benchmark::Counter(n * double(shape.tokens), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(n * 2e-9 * double(shape.rows * shape.cols * shape.tokens), benchmark::Counter::kIsRate);
}

void Prepare(benchmark::State& state, TensorType type, size_t cols, size_t tokens) {
  std::mt19937 rng(2);
  const std::vector<float> x = uniform_floats(tokens * cols, rng);
  Activations prepared;
  for (auto _ : state) {
    prepared.prepare(type, x.data(), tokens, cols);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations() * tokens * cols * sizeof(float)));
}

// ---- Per-row operations at model sizes.

void RmsNorm(benchmark::State& state) {
  std::mt19937 rng(3);
  const size_t n = 4096;
  const std::vector<float> x = uniform_floats(n, rng), weight = uniform_floats(n, rng);
  std::vector<float> out(n);
  for (auto _ : state) {
    rms_norm(x.data(), weight.data(), 1e-5f, n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

void SwiGlu(benchmark::State& state) {
  std::mt19937 rng(4);
  const size_t n = 14336;
  const std::vector<float> gate = uniform_floats(n, rng, -8.0f, 8.0f), up = uniform_floats(n, rng);
  std::vector<float> g = gate;
  for (auto _ : state) {
    swiglu(g.data(), up.data(), n);
    benchmark::DoNotOptimize(g.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

void Softmax(benchmark::State& state) {
  std::mt19937 rng(5);
  const size_t n = 4096;
  const std::vector<float> scores = uniform_floats(n, rng, -10.0f, 10.0f);
  std::vector<float> x = scores;
  for (auto _ : state) {
    softmax(x.data(), n);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

void Add(benchmark::State& state) {
  std::mt19937 rng(7);
  const size_t n = 4096;
  std::vector<float> x = uniform_floats(n, rng);
  const std::vector<float> y = uniform_floats(n, rng, -1e-6f, 1e-6f);
  for (auto _ : state) {
    add(x.data(), y.data(), n);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

// One token's 32 query heads of 128 values at position 1000.
void Rope(benchmark::State& state) {
  std::mt19937 rng(8);
  const size_t head_dim = 128, heads = 32;
  std::vector<float> inv_freq(head_dim / 2);
  for (size_t i = 0; i < inv_freq.size(); ++i) inv_freq[i] = std::pow(500000.0f, -2.0f * float(i) / float(head_dim));
  std::vector<float> x = uniform_floats(heads * head_dim, rng);
  for (auto _ : state) {
    for (size_t h = 0; h < heads; ++h) rope(&x[h * head_dim], head_dim, 1000, inv_freq.data(), false);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * heads * head_dim));
}

// One head's attention over 4096 cached positions: dot with every key, then
// axpy of every value.
void KvRows(benchmark::State& state, TensorType type) {
  std::mt19937 rng(6);
  const size_t head_dim = 128, positions = 4096;
  const RandomMatrix kv = random_matrix(type, positions, head_dim, rng);
  const std::vector<float> q = uniform_floats(head_dim, rng);
  std::vector<float> scores(positions, 1e-4f), out(head_dim);
  for (auto _ : state) {
    dot_kv_rows(type, q.data(), kv.bytes.data(), kv.row_bytes, positions, head_dim, 1.0f, scores.data());
    axpy_kv_rows(type, scores.data(), kv.bytes.data(), kv.row_bytes, positions, out.data(), head_dim);
    benchmark::DoNotOptimize(scores.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * 2 * kv.bytes.size()));
}

// A benchmark's name from its parts.
template <class... Parts>
std::string name_of(const Parts&... parts) {
  std::string name;
  ((name += parts), ...);
  return name;
}

void Register() {
  benchmark::RegisterBenchmark("memory_read/threads", MemoryRead<false>)
      ->Arg(1)
      ->Arg(2)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("memory_read_prefetched/threads", MemoryRead<true>)
      ->Arg(1)
      ->Arg(2)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  const TensorType types[] = {TensorType::f32,  TensorType::f16,  TensorType::bf16, TensorType::q8_0,
                              TensorType::q4_0, TensorType::q4_k, TensorType::q5_k, TensorType::q6_k};
  for (const TensorType type : types) {
    const std::string_view name = model::info(type).name;
    for (const size_t rows : {size_t{2048}, size_t{8192}}) {
      const std::string shape = name_of(std::to_string(rows), "x2048");
      for (const size_t tokens : {size_t{1}, size_t{8}, size_t{32}, size_t{512}}) {
        benchmark::RegisterBenchmark(name_of("matmul/", name, "/", shape, "/tokens:", std::to_string(tokens)).c_str(),
                                     Matmul, type, Shape{rows, 2048, tokens}, size_t{1}, false)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
      // Batch-1 decode as the engine runs it on this machine's two cores.
      benchmark::RegisterBenchmark(name_of("matmul_2threads/", name, "/", shape, "/tokens:1").c_str(), Matmul, type,
                                   Shape{rows, 2048, 1}, size_t{2}, false)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
  // Batch-1 decode's arithmetic alone, on weights that stay in L2: how far
  // the kernels are from being compute-bound.
  for (const TensorType type : {TensorType::q8_0, TensorType::q4_0}) {
    benchmark::RegisterBenchmark(name_of("matmul_in_l2/", model::info(type).name, "/512x2048/tokens:1").c_str(), Matmul,
                                 type, Shape{512, 2048, 1}, size_t{1}, true)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  for (const TensorType type : {TensorType::q8_0, TensorType::q4_k}) {
    for (const size_t tokens : {size_t{1}, size_t{512}}) {
      benchmark::RegisterBenchmark(
          name_of("prepare/", model::info(type).name, "/4096/tokens:", std::to_string(tokens)).c_str(), Prepare, type,
          size_t{4096}, tokens)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark("rms_norm/4096", RmsNorm);
  benchmark::RegisterBenchmark("swiglu/14336", SwiGlu);
  benchmark::RegisterBenchmark("softmax/4096", Softmax);
  benchmark::RegisterBenchmark("add/4096", Add);
  benchmark::RegisterBenchmark("rope/32x128", Rope);
  for (const TensorType type : {TensorType::f32, TensorType::f16, TensorType::q8_0}) {
    benchmark::RegisterBenchmark(name_of("attention_kv/", model::info(type).name, "/128x4096").c_str(), KvRows, type)
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace rs::kernels

// KERNEL_BENCH_TARGET=AVX2 (or any name simd_targets() lists) runs that
// target's kernels instead of the best one.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (const char* wanted = std::getenv("KERNEL_BENCH_TARGET")) {
    for (const int64_t target : rs::kernels::simd_targets()) {
      if (hwy::TargetName(target) == std::string_view(wanted)) hwy::SetSupportedTargetsForTest(target);
    }
  }
  benchmark::AddCustomContext("simd_target", std::string(rs::kernels::current_simd_target()));
  rs::kernels::Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
