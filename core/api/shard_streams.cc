#include "core/api/shard_streams.h"

namespace rs::api {

void render_sequence_outcomes(std::span<const SequenceOutcomes* const> shards, metrics::Exposition& out) {
  out.family("ringserve_sequences_finished_total", "counter",
             "Sequences (one per choice and prompt) by how they ended for the client: stop (a stop token or stop "
             "string), length, abort (cut at shutdown), cancelled (the client went away), rejected.");
  for (size_t o = 0; o < kOutcomeNames.size(); ++o) {
    uint64_t total = 0;
    for (const SequenceOutcomes* shard : shards) total += shard->counts[o].value();
    out.sample("ringserve_sequences_finished_total", {{"outcome", kOutcomeNames[o]}}, double(total));
  }
}

ShardStreams::ShardStreams(io::ConnectionOwner& shard, engine::Engine& engine)
    : shard_(shard), engine_(engine), next_id_((uint64_t(shard.index()) + 1) << 48) {}

uint64_t ShardStreams::next_request_id() { return next_id_++; }

void ShardStreams::track(uint64_t request, std::shared_ptr<ChoiceEvents> target, uint32_t choice) {
  targets_[request] = {std::move(target), choice};
}

void ShardStreams::cancel(uint64_t request) {
  if (targets_.erase(request) > 0) engine_.cancel(request);
}

void ShardStreams::finish(uint64_t request) {
  if (targets_.erase(request) > 0) engine_.finish(request);
}

void ShardStreams::deliver(std::vector<engine::TokenEvent> events) {
  shard_.post([this, events = std::move(events)]() mutable { dispatch(events); });
}

void ShardStreams::reject(uint64_t request, std::string message, bool engine_fault) {
  shard_.post([this, request, message = std::move(message), engine_fault] {
    const auto it = targets_.find(request);
    if (it == targets_.end()) return;
    const Target target = std::move(it->second);
    targets_.erase(it);
    target.choices->on_reject(target.choice, engine_fault ? 500 : 400, message);
  });
}

void ShardStreams::dispatch(std::vector<engine::TokenEvent>& events) {
  for (engine::TokenEvent& event : events) {
    const auto it = targets_.find(event.request);
    if (it == targets_.end()) continue;  // cancelled after the engine produced it
    const Target target = it->second;  // a copy: on_event may untrack
    if (event.finish != engine::Finish::none) targets_.erase(it);
    target.choices->on_event(target.choice, event);
  }
}

}  // namespace rs::api
