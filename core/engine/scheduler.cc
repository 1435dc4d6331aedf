#include "core/engine/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

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
  std::vector<sampler::Sampled> prompt_scores;  // prompt_logprobs: prompt tokens 1, 2, … scored so far
  uint64_t arrival;  // order of add(): lower is older
  bool admitted = false;
  bool finished = false;

  uint32_t pending() const { return uint32_t(tokens.size()) - computed; }
  // Every prompt token has its logprob (or none was asked for); kept across preemption.
  bool scored() const {
    return !request.prompt_logprobs || generated > 0 || prompt_scores.size() + 1 >= request.prompt.size();
  }
  // Logits rows for running the next `n` tokens: the sampling row when they reach the end, and the
  // prompt positions not yet scored.
  uint32_t rows_for(uint32_t n) const {
    const uint32_t end = computed + n;
    if (scored()) return end == tokens.size() ? 1 : 0;
    const uint32_t first = std::max(computed, uint32_t(prompt_scores.size()));
    return end > first ? end - first : 0;
  }
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
  const size_t least = request.prompt_logprobs ? 0 : 1;
  request.max_tokens = uint32_t(std::clamp<size_t>(request.max_tokens, least, capacity - prompt));
  waiting_.push_back(std::make_unique<Sequence>(std::move(request), next_admission_++));
}

void Scheduler::cancel(uint64_t id) {
  const auto is = [id](const SequencePtr& s) { return s->request.id == id; };
  if (const auto it = std::find_if(waiting_.begin(), waiting_.end(), is); it != waiting_.end()) {
    free_blocks(**it);
    waiting_.erase(it);
  } else if (const auto it = std::find_if(running_.begin(), running_.end(), is); it != running_.end()) {
    free_blocks(**it);
    leave_running(**it);
    running_.erase(it);
  }
}

uint32_t Scheduler::waiting_requests() const {
  std::unordered_set<uint64_t> groups;
  for (const SequencePtr& s : waiting_) {
    if (!running_per_group_.contains(s->request.group)) groups.insert(s->request.group);
  }
  return uint32_t(groups.size());
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

void Scheduler::enter_running(SequencePtr sequence) {
  ++running_per_group_[sequence->request.group];
  // Kept in arrival order: a recomputed sequence keeps its age.
  const auto at = std::upper_bound(running_.begin(), running_.end(), sequence->arrival,
                                   [](uint64_t arrival, const SequencePtr& r) { return arrival < r->arrival; });
  running_.insert(at, std::move(sequence));
}

void Scheduler::leave_running(const Sequence& sequence) {
  const auto it = running_per_group_.find(sequence.request.group);
  if (--it->second == 0) running_per_group_.erase(it);
}

bool Scheduler::preempt_youngest(const Sequence* keep, StepReport& report) {
  if (running_.empty() || running_.back().get() == keep) return false;
  SequencePtr victim = std::move(running_.back());
  running_.pop_back();
  free_blocks(*victim);
  leave_running(*victim);
  report.preempted.push_back(victim->request.id);
  waiting_.push_front(std::move(victim));  // the youngest preempted first ends up behind the older ones
  return true;
}

uint32_t Scheduler::fit_rows(const Sequence& s, uint32_t n, uint32_t rows) const {
  if (s.rows_for(n) <= rows) return n;
  if (s.scored()) return n - 1;  // all but the last token: the sampling row waits for the next step
  return std::max(s.computed, uint32_t(s.prompt_scores.size())) - s.computed + rows;
}

void Scheduler::schedule(Sequence& s, uint32_t n, Budget& budget) {
  const uint32_t rows = s.rows_for(n);
  scheduled_.push_back({&s, n, rows});
  budget.tokens -= n;
  budget.rows -= rows;
}

// Oldest first, so the sequences preempted to make room are ones not yet scheduled.
void Scheduler::schedule_running(Budget& budget, StepReport& report) {
  for (size_t i = 0; i < running_.size() && budget.tokens > 0;) {
    Sequence& s = *running_[i];
    // A row each stays for the sequences after this one; only a prompt being scored takes more than one.
    const uint32_t reserved = uint32_t(running_.size() - i - 1);
    const uint32_t n = fit_rows(s, std::min(s.pending(), budget.tokens), budget.rows - reserved);
    if (n == 0) {  // its logits rows wait for the next step
      ++i;
      continue;
    }
    bool fits = reserve(s, s.computed + n);
    while (!fits && preempt_youngest(&s, report)) fits = reserve(s, s.computed + n);
    if (!fits) {  // s is the youngest: it makes room for the others
      preempt_youngest(nullptr, report);
      continue;
    }
    schedule(s, n, budget);
    ++i;
  }
}

// Preempted sequences first (they were running), in age order; then the oldest sequence of the waiting
// request with the fewest sequences running.
std::deque<Scheduler::SequencePtr>::iterator Scheduler::next_to_admit() {
  if (waiting_.front()->admitted) return waiting_.begin();
  auto best = waiting_.begin();
  uint32_t fewest = UINT32_MAX;
  for (auto it = waiting_.begin(); it != waiting_.end() && fewest > 0; ++it) {
    const auto group = running_per_group_.find((*it)->request.group);
    const uint32_t running = group == running_per_group_.end() ? 0 : group->second;
    if (running < fewest) {
      best = it;
      fewest = running;
    }
  }
  return best;
}

void Scheduler::admit_waiting(Budget& budget, StepReport& report) {
  // Headroom for the running sequences to grow by a block each before anyone is preempted.
  const uint32_t watermark = std::max<uint32_t>(1, pool_.total_blocks() / 100);
  while (!waiting_.empty() && budget.tokens > 0 && running_.size() < limits_.max_seqs) {
    const auto next = next_to_admit();
    Sequence& s = **next;
    const uint32_t n = fit_rows(s, std::min(s.pending(), budget.tokens), budget.rows);
    const uint32_t needed = (s.computed + n + block_tokens_ - 1) / block_tokens_;
    const bool alone = running_.empty();
    // Nobody jumps the one chosen: if it cannot start now, nobody does.
    if (n == 0 || pool_.free_blocks() < needed + (alone ? 0 : watermark)) break;
    reserve(s, s.computed + n);
    if (!s.admitted) report.admitted.push_back(s.request.id);
    s.admitted = true;
    SequencePtr owned = std::move(*next);
    waiting_.erase(next);
    enter_running(std::move(owned));
    schedule(s, n, budget);
  }
}

void Scheduler::step(StepReport& report) {
  report.events.clear();
  report.admitted.clear();
  report.preempted.clear();
  report.batch_sequences = report.batch_tokens = report.batch_logits_rows = 0;
  scheduled_.clear();
  // Logits rows are bounded as sequences are: a prompt being scored takes the rows decodes leave.
  Budget budget{limits_.max_batch_tokens, limits_.max_seqs};
  schedule_running(budget, report);
  admit_waiting(budget, report);
  if (scheduled_.empty()) return;

  batch_.sequences.clear();
  for (const Scheduled& item : scheduled_) {
    Sequence& s = *item.sequence;
    batch_.sequences.push_back({std::span(s.tokens).subspan(s.computed, item.tokens), s.computed, s.blocks, item.rows});
  }
  report.batch_sequences = uint32_t(batch_.sequences.size());
  report.batch_tokens = uint32_t(batch_.tokens());
  executor_.step(batch_, logits_);
  report.batch_logits_rows = uint32_t(logits_.rows());
  update(report);
}

void Scheduler::update(StepReport& report) {
  size_t row = 0;
  for (const Scheduled& item : scheduled_) {
    Sequence& s = *item.sequence;
    const uint32_t end = s.computed + item.tokens;
    const std::vector<TokenId>& prompt = s.request.prompt;
    for (uint32_t p = end - item.rows; p < end; ++p, ++row) {
      // A prompt position's logits score the prompt's next token; the last row is the sampling row.
      if (p + 1 < prompt.size() && p == s.prompt_scores.size()) {
        s.prompt_scores.push_back(sampler::score_token(logits_.row(row), prompt[p + 1],
                                                       size_t(s.request.sampling.top_logprobs)));
      }
    }
    s.computed = end;
    if (s.computed < s.tokens.size()) continue;  // more of the prompt to read

    TokenEvent event{s.request.id, kNoToken, Finish::none, 0, {}, {}};
    if (s.generated == 0 && s.request.prompt_logprobs) event.prompt = std::move(s.prompt_scores);
    if (s.request.max_tokens == 0) {  // the prompt only was scored
      event.finish = Finish::length;
    } else {
      sampler::Sampled next = s.sampler.sample(logits_.row(row - 1));
      s.sampler.accept(next.token);
      s.tokens.push_back(next.token);
      ++s.generated;
      event.token = next.token;
      event.logprob = next.logprob;
      event.top = std::move(next.top);
      if (s.request.sampling.is_stop_token(next.token, end_of_generation_)) {
        event.finish = Finish::stop;
      } else if (s.generated >= s.request.max_tokens || s.tokens.size() >= limits_.ctx_size) {
        event.finish = Finish::length;
      }
    }
    if (event.finish != Finish::none) {
      free_blocks(s);
      leave_running(s);
      s.finished = true;
    }
    report.events.push_back(std::move(event));
  }
  std::erase_if(running_, [](const SequencePtr& s) { return s->finished; });
}

}  // namespace rs::engine
