#pragma once
// One per shard: the engine's event sink for the requests this shard
// submitted. The engine thread hands it each step's events in one call; it
// posts them to the shard (one task per step, not per token), where they are
// routed to the request (its ChoiceEvents) and choice each engine request belongs to.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/metrics.h"
#include "core/engine/engine.h"
#include "io/connection_owner.h"

namespace rs::api {

// Where one request's engine events go: its choices (Completion implements it).
class ChoiceEvents {
 public:
  virtual void on_event(uint32_t choice, engine::TokenEvent& event) = 0;
  virtual void on_reject(uint32_t choice, int status, const std::string& message) = 0;

 protected:
  ~ChoiceEvents() = default;
};

// How a sequence (one choice of one prompt) ended, as its client was told: counted on its shard,
// where stop strings end sequences the engine may already have finished.
enum class Outcome { stop, length, abort, cancelled, rejected };
inline constexpr std::array<std::string_view, 5> kOutcomeNames = {"stop", "length", "abort", "cancelled",
                                                                 "rejected"};
struct SequenceOutcomes {
  std::array<metrics::Counter, kOutcomeNames.size()> counts;  // the shard thread writes
  void count(Outcome outcome) { counts[size_t(outcome)].add(); }
};
void render_sequence_outcomes(std::span<const SequenceOutcomes* const> shards, metrics::Exposition& out);

class ShardStreams final : public engine::EventSink {
 public:
  ShardStreams(io::ConnectionOwner& shard, engine::Engine& engine);

  // Shard thread only.
  uint64_t next_request_id();  // unique across shards: the shard's index in the high bits
  void track(uint64_t request, std::shared_ptr<ChoiceEvents> target, uint32_t choice);
  // Stops routing `request` and tells the engine to drop it: the client is gone.
  void cancel(uint64_t request);
  // Stops routing `request` and tells the engine it is done: a stop string matched.
  void finish(uint64_t request);
  engine::Engine& engine() { return engine_; }
  SequenceOutcomes& outcomes() { return outcomes_; }
  const SequenceOutcomes& outcomes() const { return outcomes_; }

  // Engine thread.
  void deliver(std::vector<engine::TokenEvent> events) override;
  void reject(uint64_t request, std::string message, bool engine_fault) override;

 private:
  void dispatch(std::vector<engine::TokenEvent>& events);

  struct Target {
    std::shared_ptr<ChoiceEvents> choices;
    uint32_t choice;
  };
  io::ConnectionOwner& shard_;
  engine::Engine& engine_;
  uint64_t next_id_;
  std::unordered_map<uint64_t, Target> targets_;
  SequenceOutcomes outcomes_;
};

}  // namespace rs::api
