#include "core/engine/embedding_engine.h"

#include <pthread.h>

#include <algorithm>
#include <exception>

namespace rs::engine {

void EmbeddingMetrics::render(metrics::Exposition& out) const {
  out.family("ringserve_embedding_passes_total", "counter", "Forward passes of the embedding model.");
  out.sample("ringserve_embedding_passes_total", {}, double(passes.value()));
  out.family("ringserve_embedding_inputs_total", "counter", "Inputs embedded (one vector each).");
  out.sample("ringserve_embedding_inputs_total", {}, double(inputs.value()));
  out.family("ringserve_embedding_tokens_total", "counter", "Tokens of the inputs embedded.");
  out.sample("ringserve_embedding_tokens_total", {}, double(tokens.value()));
  out.family("ringserve_embedding_inputs_waiting", "gauge", "Inputs queued for the embedding model at its last pass.");
  out.sample("ringserve_embedding_inputs_waiting", {}, double(waiting.value()));
}

EmbeddingEngine::EmbeddingEngine(Encoder& encoder, uint32_t max_batch_tokens)
    : encoder_(encoder), dims_(encoder.dims()), max_tokens_(encoder.max_tokens()),
      max_batch_tokens_(max_batch_tokens) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "embedding");
    run();
  });
}

EmbeddingEngine::~EmbeddingEngine() {
  push({.job = {}, .stop = true});
  thread_.join();
}

void EmbeddingEngine::push(Command command) {
  inbox_.push(std::move(command));
  signal_.fetch_add(1, std::memory_order_release);
  signal_.notify_one();
}

void EmbeddingEngine::submit(std::vector<std::vector<int32_t>> inputs, Done done) {
  Job job;
  job.vectors.resize(inputs.size() * dims_);
  job.inputs = std::move(inputs);
  job.done = std::move(done);
  push({.job = std::move(job), .stop = false});
}

void EmbeddingEngine::run() {
  for (;;) {
    const uint32_t seen = signal_.load(std::memory_order_acquire);
    while (std::optional<Command> command = inbox_.pop()) {
      if (command->stop) return;
      if (command->job.inputs.empty()) {
        command->job.done({});
      } else {
        queue_.push_back(std::move(command->job));
      }
    }
    if (queue_.empty()) {
      signal_.wait(seen, std::memory_order_acquire);
      continue;
    }
    pass();
  }
}

void EmbeddingEngine::pass() {
  struct Slot {
    Job* job;
    size_t input;
  };
  std::vector<Slot> slots;
  std::vector<std::span<const int32_t>> inputs;
  uint64_t tokens = 0, waiting = 0;
  for (Job& job : queue_) waiting += job.inputs.size() - job.next;
  metrics_.waiting.set(int64_t(waiting));
  for (Job& job : queue_) {
    for (; job.next < job.inputs.size(); ++job.next) {
      const size_t size = job.inputs[job.next].size();
      if (!slots.empty() && tokens + size > max_batch_tokens_) break;
      tokens += size;
      slots.push_back({&job, job.next});
      inputs.emplace_back(job.inputs[job.next]);
    }
    if (job.next < job.inputs.size()) break;  // the budget is spent
  }
  std::vector<float> out(inputs.size() * dims_);
  try {
    encoder_.encode(inputs, out);
    for (size_t i = 0; i < slots.size(); ++i) {
      std::copy_n(out.begin() + i * dims_, dims_, slots[i].job->vectors.begin() + slots[i].input * dims_);
    }
  } catch (const std::exception& e) {
    for (const Slot& slot : slots) slot.job->error = e.what();
  }
  for (const Slot& slot : slots) ++slot.job->finished;
  metrics_.passes.add();
  metrics_.inputs.add(slots.size());
  metrics_.tokens.add(tokens);
  while (!queue_.empty() && queue_.front().finished == queue_.front().inputs.size()) {
    Job& job = queue_.front();
    EmbeddingResult result;
    if (job.error.empty()) {
      result.vectors = std::move(job.vectors);
    } else {
      result.error = std::move(job.error);
    }
    job.done(std::move(result));
    queue_.pop_front();
  }
}

}  // namespace rs::engine
