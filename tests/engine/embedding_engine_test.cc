#include "core/engine/embedding_engine.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <atomic>
#include <stdexcept>
#include <vector>

namespace rs::engine {
namespace {

// Writes each input's length and first id as its vector, and remembers the passes; it can be held shut so that
// requests pile up while a pass runs.
class RecordingEncoder final : public Encoder {
 public:
  uint32_t dims() const override { return 2; }
  uint32_t max_tokens() const override { return 8; }
  void encode(std::span<const std::span<const int32_t>> inputs, std::span<float> out) override {
    if (!entered_once_.exchange(true)) entered_.set_value();
    gate_.wait();
    std::vector<size_t> sizes;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].front() < 0) throw std::runtime_error("negative id");
      out[i * 2] = float(inputs[i].size());
      out[i * 2 + 1] = float(inputs[i].front());
      sizes.push_back(inputs[i].size());
    }
    std::lock_guard lock(mutex_);
    passes_.push_back(sizes);
  }
  void open() { opened_.set_value(); }
  void wait_for_first_pass() { first_pass_.wait(); }
  std::vector<std::vector<size_t>> passes() {
    std::lock_guard lock(mutex_);
    return passes_;
  }

 private:
  std::atomic<bool> entered_once_{false};
  std::promise<void> entered_;
  std::shared_future<void> first_pass_ = entered_.get_future().share();
  std::promise<void> opened_;
  std::shared_future<void> gate_ = opened_.get_future().share();
  std::mutex mutex_;
  std::vector<std::vector<size_t>> passes_;
};

std::vector<int32_t> input(size_t size, int32_t first) {
  std::vector<int32_t> ids(size, 1);
  ids[0] = first;
  return ids;
}

TEST(EmbeddingEngine, RunsEveryWaitingInputOfEveryRequestInOnePassUpToTheBudget) {
  RecordingEncoder encoder;
  std::vector<std::future<EmbeddingResult>> results;
  {
    EmbeddingEngine engine(encoder, 16);
    std::vector<std::promise<EmbeddingResult>> promises(4);
    for (auto& p : promises) results.push_back(p.get_future());
    // The first pass takes request 0 and blocks; 1, 2 and 3 queue behind it.
    engine.submit({input(3, 10)}, [&p = promises[0]](EmbeddingResult r) { p.set_value(std::move(r)); });
    encoder.wait_for_first_pass();
    engine.submit({input(4, 20), input(5, 21)}, [&p = promises[1]](EmbeddingResult r) { p.set_value(std::move(r)); });
    engine.submit({input(6, 30), input(4, 31)}, [&p = promises[2]](EmbeddingResult r) { p.set_value(std::move(r)); });
    engine.submit({input(2, 40)}, [&p = promises[3]](EmbeddingResult r) { p.set_value(std::move(r)); });
    encoder.open();
    for (auto& r : results) r.wait();
  }
  EXPECT_EQ(results[0].get().vectors, (std::vector<float>{3, 10}));
  EXPECT_EQ(results[1].get().vectors, (std::vector<float>{4, 20, 5, 21}));
  EXPECT_EQ(results[2].get().vectors, (std::vector<float>{6, 30, 4, 31}));
  EXPECT_EQ(results[3].get().vectors, (std::vector<float>{2, 40}));
  // Requests 1–3 queued behind the first pass (21 tokens) take two passes of at most 16 tokens, the budget
  // cutting request 2 in two.
  EXPECT_EQ(encoder.passes(), (std::vector<std::vector<size_t>>{{3}, {4, 5, 6}, {4, 2}}));
}

TEST(EmbeddingEngine, AnEncoderFailureAnswersTheRequestsOfThatPassAndOnlyThem) {
  RecordingEncoder encoder;
  encoder.open();
  EmbeddingEngine engine(encoder, 64);
  std::promise<EmbeddingResult> bad, good;
  engine.submit({input(2, -1)}, [&](EmbeddingResult r) { bad.set_value(std::move(r)); });
  const EmbeddingResult failed = bad.get_future().get();
  EXPECT_TRUE(failed.vectors.empty());
  EXPECT_EQ(failed.error, "negative id");
  engine.submit({input(2, 5)}, [&](EmbeddingResult r) { good.set_value(std::move(r)); });
  const EmbeddingResult fine = good.get_future().get();
  EXPECT_TRUE(fine.error.empty());
  EXPECT_EQ(fine.vectors, (std::vector<float>{2, 5}));
}

}  // namespace
}  // namespace rs::engine
