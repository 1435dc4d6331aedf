#include "core/engine/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace rs::engine {

struct Scheduler::Sequence {
  Sequence(GenerationRequest r, uint64_t order)
      : request(std::move(r)), tokens(request.prompt), sampler(request.sampling, request.prompt), arrival(order) {}

  GenerationRequest request;
  std::vector<TokenId> tokens;  // prompt, then the generated tokens
  uint32_t computed = 0;        // leading tokens whose keys and values are in the cache
  uint32_t generated = 0;
  std::vector<BlockId> blocks;
  sampler::Sampler sampler;
  uint64_t arrival;  // order of add(): lower is older
  bool admitted = false;
  bool finished = false;

  uint32_t pending() const { return uint32_t(tokens.size()) - computed; }
};

Scheduler::Scheduler(Executor& executor, const SchedulerLimits& limits, std::vector<TokenId> end_of_generation)
    : executor_(executor),
      limits_(limits),
      end_of_generation_(std::move(end_of_generation)),
      block_tokens_(executor.kv_layout().block_tokens),
      pool_(executor.kv_layout().n_blocks) {
  if (limits_.max_batch_tokens == 0 || limits_.max_seqs == 0 || limits_.ctx_size < 2) {
    throw std::invalid_argument("scheduler limits: max_batch_tokens and max_seqs must be positive, ctx_size at least 2");
  }
}

Scheduler::~Scheduler() = default;

void Scheduler::add(GenerationRequest request) {
  const size_t prompt = request.prompt.size();
  if (prompt == 0) throw std::invalid_argument("the prompt has no tokens");
  // The last generated token is never run, so a sequence holds prompt + max_tokens - 1 positions.
  const size_t capacity = std::min<size_t>(limits_.ctx_size, size_t(pool_.total_blocks()) * block_tokens_ + 1);
  if (prompt >= capacity) {
    throw std::invalid_argument(fmt::format("the prompt is {} tokens; at most {} fit with room to generate", prompt,
                                            capacity - 1));
  }
  request.max_tokens = uint32_t(std::clamp<size_t>(request.max_tokens, 1, capacity - prompt));
  waiting_.push_back(std::make_unique<Sequence>(std::move(request), next_admission_++));
}

void Scheduler::cancel(uint64_t id) {
  const auto is = [id](const SequencePtr& s) { return s->request.id == id; };
  if (const auto it = std::find_if(waiting_.begin(), waiting_.end(), is); it != waiting_.end()) {
    free_blocks(**it);
    waiting_.erase(it);
  } else if (const auto it = std::find_if(running_.begin(), running_.end(), is); it != running_.end()) {
    free_blocks(**it);
    running_.erase(it);
  }
}

bool Scheduler::reserve(Sequence& sequence, uint32_t positions) {
  const uint32_t needed = (positions + block_tokens_ - 1) / block_tokens_;
  if (needed <= sequence.blocks.size()) return true;
  if (pool_.free_blocks() < needed - sequence.blocks.size()) return false;
  while (sequence.blocks.size() < needed) sequence.blocks.push_back(*pool_.allocate());
  return true;
}

void Scheduler::free_blocks(Sequence& sequence) {
  for (const BlockId block : sequence.blocks) pool_.release(block);
  sequence.blocks.clear();
  sequence.computed = 0;
}

bool Scheduler::preempt_youngest(const Sequence* keep, StepReport& report) {
  if (running_.empty() || running_.back().get() == keep) return false;
  SequencePtr victim = std::move(running_.back());
  running_.pop_back();
  free_blocks(*victim);
  waiting_.push_front(std::move(victim));  // the youngest preempted first ends up behind the older ones
  ++report.preemptions;
  return true;
}

// Oldest first, so the sequences preempted to make room are ones not yet scheduled.
void Scheduler::schedule_running(uint32_t& budget, StepReport& report) {
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence& s = *running_[i];
    const uint32_t n = std::min(s.pending(), budget);
    bool fits = reserve(s, s.computed + n);
    while (!fits && preempt_youngest(&s, report)) fits = reserve(s, s.computed + n);
    if (!fits) {  // s is the youngest: it makes room for the others
      preempt_youngest(nullptr, report);
      continue;
    }
    scheduled_.push_back({&s, n});
    budget -= n;
    ++i;
  }
}

void Scheduler::admit_waiting(uint32_t& budget, StepReport& report) {
  // Headroom for the running sequences to grow by a block each before anyone is preempted.
  const uint32_t watermark = std::max<uint32_t>(1, pool_.total_blocks() / 100);
  while (!waiting_.empty() && budget > 0 && running_.size() < limits_.max_seqs) {
    Sequence& s = *waiting_.front();
    const uint32_t n = std::min(s.pending(), budget);
    const uint32_t needed = (s.computed + n + block_tokens_ - 1) / block_tokens_;
    const bool alone = running_.empty();
    if (pool_.free_blocks() < needed + (alone ? 0 : watermark)) break;  // first come, first served: nobody jumps the queue
    reserve(s, s.computed + n);
    if (!s.admitted) report.admitted.push_back(s.request.id);
    s.admitted = true;
    SequencePtr owned = std::move(waiting_.front());
    waiting_.pop_front();
    // Kept in arrival order: a recomputed sequence keeps its age.
    const auto at = std::upper_bound(running_.begin(), running_.end(), owned->arrival,
                                     [](uint64_t arrival, const SequencePtr& r) { return arrival < r->arrival; });
    running_.insert(at, std::move(owned));
    scheduled_.push_back({&s, n});
    budget -= n;
  }
}

void Scheduler::step(StepReport& report) {
  report.events.clear();
  report.admitted.clear();
  report.batch_sequences = report.batch_tokens = report.preemptions = 0;
  scheduled_.clear();
  uint32_t budget = limits_.max_batch_tokens;
  schedule_running(budget, report);
  admit_waiting(budget, report);
  if (scheduled_.empty()) return;

  batch_.sequences.clear();
  for (const Scheduled& item : scheduled_) {
    Sequence& s = *item.sequence;
    const bool last = s.computed + item.tokens == s.tokens.size();
    batch_.sequences.push_back({std::span(s.tokens).subspan(s.computed, item.tokens), s.computed, s.blocks, last});
  }
  report.batch_sequences = uint32_t(batch_.sequences.size());
  report.batch_tokens = uint32_t(batch_.tokens());
  executor_.step(batch_, logits_);
  sample(report);
}

void Scheduler::sample(StepReport& report) {
  size_t row = 0;
  for (const Scheduled& item : scheduled_) {
    Sequence& s = *item.sequence;
    s.computed += item.tokens;
    if (s.computed < s.tokens.size()) continue;  // more of the prompt to read
    sampler::Sampled next = s.sampler.sample(logits_.row(row++));
    s.sampler.accept(next.token);
    s.tokens.push_back(next.token);
    ++s.generated;
    TokenEvent event{s.request.id, next.token, Finish::none, next.logprob, std::move(next.top)};
    if (s.request.sampling.is_stop_token(next.token, end_of_generation_)) {
      event.finish = Finish::stop;
    } else if (s.generated >= s.request.max_tokens || s.tokens.size() >= limits_.ctx_size) {
      event.finish = Finish::length;
    }
    if (event.finish != Finish::none) {
      free_blocks(s);
      s.finished = true;
    }
    report.events.push_back(std::move(event));
  }
  std::erase_if(running_, [](const SequencePtr& s) { return s->finished; });
}

}  // namespace rs::engine
