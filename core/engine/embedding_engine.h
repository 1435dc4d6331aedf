#pragma once
// The embedding model's own thread: it owns an Encoder, takes inputs from any
// thread through a lock-free inbox, and runs every waiting input of every
// request in one forward pass (up to a token budget), so that many small
// requests cost one pass, not one each.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/base/metrics.h"
#include "core/base/mpsc_queue.h"
#include "core/engine/encoder.h"

namespace rs::engine {

struct EmbeddingResult {
  std::vector<float> vectors;  // inputs × dims, in the order given; empty on error
  std::string error;           // the encoder failed: nothing else is wrong with the request
};

struct EmbeddingMetrics {
  metrics::Counter passes;   // forward passes
  metrics::Counter inputs;   // sequences embedded
  metrics::Counter tokens;   // their tokens
  metrics::Gauge waiting;    // inputs queued at the start of the last pass

  void render(metrics::Exposition& out) const;
};

class EmbeddingEngine {
 public:
  using Done = std::function<void(EmbeddingResult)>;

  // Starts the thread. `encoder` outlives the engine. A pass takes inputs while their tokens fit in
  // `max_batch_tokens` (always at least one input).
  EmbeddingEngine(Encoder& encoder, uint32_t max_batch_tokens);
  ~EmbeddingEngine();  // stops the thread; requests still queued are dropped without a call
  EmbeddingEngine(const EmbeddingEngine&) = delete;
  EmbeddingEngine& operator=(const EmbeddingEngine&) = delete;

  // Any thread, lock-free. Every input is 1 to max_tokens() ids (the caller checks; the encoder throws
  // otherwise). `done` runs on the engine's thread once all of them are embedded: hand the result to your own.
  void submit(std::vector<std::vector<int32_t>> inputs, Done done);

  uint32_t dims() const { return dims_; }
  uint32_t max_tokens() const { return max_tokens_; }
  const EmbeddingMetrics& metrics() const { return metrics_; }

 private:
  struct Job {
    std::vector<std::vector<int32_t>> inputs;
    Done done;
    std::vector<float> vectors;
    size_t next = 0;      // first input not yet in a pass
    size_t finished = 0;  // inputs embedded
    std::string error;
  };
  struct Command {
    Job job;
    bool stop = false;
  };

  void push(Command command);
  void run();
  void pass();  // one forward pass over the queue's head

  Encoder& encoder_;
  const uint32_t dims_;
  const uint32_t max_tokens_;
  const uint32_t max_batch_tokens_;
  EmbeddingMetrics metrics_;
  MpscQueue<Command> inbox_;
  std::atomic<uint32_t> signal_{0};
  std::deque<Job> queue_;  // engine thread: jobs with inputs not yet finished, oldest first
  std::thread thread_;
};

}  // namespace rs::engine
