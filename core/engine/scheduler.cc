#include "core/engine/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include "core/kv/block_hash.h"

namespace rs::engine {

enum class SequenceState : uint8_t {
  waiting,    // never run
  running,    // holds blocks; scheduled each step while the budgets last
  preempted,  // its blocks went to older sequences: waiting again, to be recomputed
  finished,
};

struct Scheduler::Sequence {
  Sequence(GenerationRequest r, uint64_t order)
      : request(std::move(r)), tokens(request.prompt), sampler(request.sampling, request.prompt), arrival(order) {}

  GenerationRequest request;
  std::vector<TokenId> tokens;  // prompt, then the generated tokens
  uint32_t computed = 0;        // leading tokens whose keys and values are in the cache
  uint32_t generated = 0;
  kv::BlockTable blocks;
  std::vector<uint64_t> chain;  // hashes of its full blocks, as far as they are known
  uint64_t salt = 0;            // its chain's: the model's, and the request's cache_salt
  uint32_t cached_blocks = 0;   // leading blocks of `blocks` cached (its own or taken from the cache)
  sampler::Sampler sampler;
  std::vector<sampler::Sampled> prompt_scores;  // prompt_logprobs: prompt tokens 1, 2, … scored so far
  uint32_t cached_tokens = 0;  // prompt tokens the prefix cache gave at its first admission
  uint64_t arrival;  // order of add(): lower is older
  SequenceState state = SequenceState::waiting;

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

Scheduler::Scheduler(Executor& executor, const SchedulerLimits& limits, std::vector<TokenId> end_of_generation,
                     PrefixCaching prefix_caching)
    : executor_(executor),
      limits_(limits),
      end_of_generation_(std::move(end_of_generation)),
      prefix_caching_(prefix_caching),
      kv_cache_(executor.kv_layout().n_blocks, executor.kv_layout().block_tokens) {
  if (limits_.max_batch_tokens == 0 || limits_.max_seqs == 0 || limits_.ctx_size < 2) {
    throw std::invalid_argument("scheduler limits: max_batch_tokens and max_seqs must be positive, ctx_size at least 2");
  }
}

Scheduler::~Scheduler() = default;

void Scheduler::add(GenerationRequest request) {
  const size_t prompt = request.prompt.size();
  if (prompt == 0) throw std::invalid_argument("the prompt has no tokens");
  // The last generated token is never run, so a sequence holds prompt + max_tokens - 1 positions.
  const size_t capacity =
      std::min<size_t>(limits_.ctx_size, size_t(kv_cache_.total_blocks()) * kv_cache_.block_tokens() + 1);
  if (prompt >= capacity) {
    throw std::invalid_argument(fmt::format("the prompt is {} tokens; at most {} fit with room to generate", prompt,
                                            capacity - 1));
  }
  const size_t least = request.prompt_logprobs ? 0 : 1;
  request.max_tokens = uint32_t(std::clamp<size_t>(request.max_tokens, least, capacity - prompt));
  auto sequence = std::make_unique<Sequence>(std::move(request), next_arrival_++);
  sequence->salt = kv::request_salt(prefix_caching_.salt, sequence->request.cache_salt);
  waiting_.push_back(std::move(sequence));
}

void Scheduler::cancel(uint64_t id) {
  const auto is = [id](const SequencePtr& s) { return s->request.id == id; };
  if (const auto it = std::find_if(waiting_.begin(), waiting_.end(), is); it != waiting_.end()) {
    waiting_.erase(it);  // waiting or preempted: it holds no blocks
  } else if (const auto it = std::find_if(running_.begin(), running_.end(), is); it != running_.end()) {
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

void Scheduler::step(StepReport& report) {
  report.events.clear();
  report.failed.clear();
  report.batch_sequences = report.batch_tokens = report.batch_logits_rows = 0;
  plan(report);
  if (plan_.entries.empty()) return;
  report.batch_sequences = uint32_t(plan_.batch.sequences.size());
  report.batch_tokens = uint32_t(plan_.batch.tokens());
  executor_.step(plan_.batch, logits_);
  report.batch_logits_rows = uint32_t(logits_.rows());
  update(report);
}

// ---- plan ------------------------------------------------------------------------------------------------

void Scheduler::plan(StepReport& report) {
  report.admitted.clear();
  report.preempted.clear();
  plan_.entries.clear();
  plan_.budget_tokens = limits_.max_batch_tokens;
  plan_.budget_rows = limits_.max_seqs;  // logits rows are bounded as sequences are: executors size for that
  plan_running(report);
  plan_admissions(report);
  plan_.batch.sequences.clear();
  for (const StepPlan::Entry& e : plan_.entries) {
    Sequence& s = *e.sequence;
    plan_.batch.sequences.push_back({std::span(s.tokens).subspan(s.computed, e.tokens), s.computed, s.blocks, e.rows});
  }
}

// Oldest first, so the sequences preempted to make room are ones not yet scheduled.
void Scheduler::plan_running(StepReport& report) {
  for (size_t i = 0; i < running_.size() && plan_.budget_tokens > 0;) {
    Sequence& s = *running_[i];
    // A row each stays for the sequences after this one; only a prompt being scored takes more than one.
    const uint32_t reserved = uint32_t(running_.size() - i - 1);
    const uint32_t n = fit_rows(s, std::min(s.pending(), plan_.budget_tokens), plan_.budget_rows - reserved);
    if (n == 0) {  // its logits rows wait for the next step
      ++i;
      continue;
    }
    bool fits = kv_cache_.allocate(s.blocks, s.computed + n);
    while (!fits && preempt_youngest(&s, report)) fits = kv_cache_.allocate(s.blocks, s.computed + n);
    if (!fits) {  // s is the youngest: it makes room for the others
      preempt_youngest(nullptr, report);
      continue;
    }
    schedule(s, n);
    ++i;
  }
}

void Scheduler::plan_admissions(StepReport& report) {
  // Headroom for the running sequences to grow by a block each before anyone is preempted.
  const uint32_t watermark = std::max<uint32_t>(1, kv_cache_.total_blocks() / 100);
  while (!waiting_.empty() && plan_.budget_tokens > 0 && running_.size() < limits_.max_seqs) {
    const auto next = next_to_admit();
    Sequence& s = **next;
    const uint32_t hit = take_cached_prefix(s);
    const uint32_t n = fit_rows(s, std::min(s.pending(), plan_.budget_tokens), plan_.budget_rows);
    const uint32_t headroom = running_.empty() ? 0 : watermark;
    // Nobody jumps the one chosen: if it cannot start now, nobody does.
    if (n == 0 || kv_cache_.free_blocks() < kv_cache_.blocks_needed(s.blocks, s.computed + n) + headroom) {
      kv_cache_.free(s.blocks);  // the cached blocks it took wait in the cache
      s.computed = s.cached_blocks = 0;
      break;
    }
    kv_cache_.allocate(s.blocks, s.computed + n);
    if (s.state == SequenceState::waiting) {
      report.admitted.push_back({s.request.id, uint32_t(s.request.prompt.size()), hit});
      s.cached_tokens = hit;
    }
    SequencePtr owned = std::move(*next);
    waiting_.erase(next);
    enter_running(std::move(owned));
    schedule(s, n);
  }
}

// The longest cached prefix of the tokens so far (a recomputed sequence finds its own blocks), short of the
// last token: its logits must come from somewhere, and it must not be written into a shared block.
uint32_t Scheduler::take_cached_prefix(Sequence& s) {
  if (!prefix_caching_.enabled || s.request.prompt_logprobs || !s.blocks.empty()) return 0;
  const uint32_t block_tokens = kv_cache_.block_tokens();
  const uint32_t eligible = (uint32_t(s.tokens.size()) - 1) / block_tokens;
  kv::extend_chain(s.chain, s.salt, s.tokens, block_tokens, eligible);
  const uint32_t blocks = kv_cache_.cached_prefix(std::span(s.chain).first(eligible));
  kv_cache_.take_cached(s.blocks, std::span(s.chain).first(blocks));
  s.cached_blocks = blocks;
  s.computed = blocks * block_tokens;
  return s.computed;
}

void Scheduler::cache_full_blocks(Sequence& s) {
  if (!prefix_caching_.enabled) return;
  const uint32_t full = s.computed / kv_cache_.block_tokens();
  kv::extend_chain(s.chain, s.salt, s.tokens, kv_cache_.block_tokens(), full);
  for (; s.cached_blocks < full; ++s.cached_blocks) {
    kv_cache_.cache(s.blocks[s.cached_blocks], s.chain[s.cached_blocks]);
  }
}

void Scheduler::schedule(Sequence& s, uint32_t n) {
  const uint32_t rows = s.rows_for(n);
  plan_.entries.push_back({&s, n, rows});
  plan_.budget_tokens -= n;
  plan_.budget_rows -= rows;
}

uint32_t Scheduler::fit_rows(const Sequence& s, uint32_t n, uint32_t rows) const {
  if (s.rows_for(n) <= rows) return n;
  if (s.scored()) return n - 1;  // all but the last token: the sampling row waits for the next step
  return std::max(s.computed, uint32_t(s.prompt_scores.size())) - s.computed + rows;
}

// Preempted sequences first (they were running), in age order; then the oldest sequence of the waiting
// request with the fewest sequences running.
std::deque<Scheduler::SequencePtr>::iterator Scheduler::next_to_admit() {
  if (waiting_.front()->state == SequenceState::preempted) return waiting_.begin();
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

bool Scheduler::preempt_youngest(const Sequence* keep, StepReport& report) {
  if (running_.empty() || running_.back().get() == keep) return false;
  SequencePtr victim = std::move(running_.back());
  running_.pop_back();
  leave_running(*victim);
  victim->state = SequenceState::preempted;
  report.preempted.push_back(victim->request.id);
  waiting_.push_front(std::move(victim));  // the youngest preempted first ends up behind the older ones
  return true;
}

void Scheduler::enter_running(SequencePtr sequence) {
  sequence->state = SequenceState::running;
  ++running_per_group_[sequence->request.group];
  // Kept in arrival order: a recomputed sequence keeps its age.
  const auto at = std::upper_bound(running_.begin(), running_.end(), sequence->arrival,
                                   [](uint64_t arrival, const SequencePtr& r) { return arrival < r->arrival; });
  running_.insert(at, std::move(sequence));
}

void Scheduler::leave_running(Sequence& sequence) {
  kv_cache_.free(sequence.blocks);  // its cached blocks stay cached, for it too if it is recomputed
  sequence.computed = sequence.cached_blocks = 0;
  const auto it = running_per_group_.find(sequence.request.group);
  if (--it->second == 0) running_per_group_.erase(it);
}

// ---- update ----------------------------------------------------------------------------------------------

// Scores prompt rows, then has the executor draw every finished prompt's or decode's next token (all rows at
// once, where the logits are), then reports each entry in plan order.
void Scheduler::update(StepReport& report) {
  sample_rows_.clear();
  sample_of_entry_.assign(plan_.entries.size(), -1);
  size_t row = 0;
  for (size_t i = 0; i < plan_.entries.size(); ++i) {
    const StepPlan::Entry& e = plan_.entries[i];
    Sequence& s = *e.sequence;
    const uint32_t end = s.computed + e.tokens;
    const std::vector<TokenId>& prompt = s.request.prompt;
    for (uint32_t p = end - e.rows; p < end; ++p, ++row) {
      // A prompt position's logits score the prompt's next token; the last row is the sampling row.
      if (p + 1 < prompt.size() && p == s.prompt_scores.size()) {
        s.prompt_scores.push_back(sampler::score_token(logits_.row(row), prompt[p + 1],
                                                       size_t(s.request.sampling.top_logprobs)));
      }
    }
    s.computed = end;
    cache_full_blocks(s);
    if (s.computed < s.tokens.size() || s.request.max_tokens == 0) continue;  // more to read, or nothing to draw
    sample_of_entry_[i] = int32_t(sample_rows_.size());
    sample_rows_.push_back({row - 1, &s.sampler});
  }
  sampled_.resize(sample_rows_.size());
  executor_.sample(sample_rows_, logits_, sampled_);

  for (size_t i = 0; i < plan_.entries.size(); ++i) {
    Sequence& s = *plan_.entries[i].sequence;
    if (s.computed < s.tokens.size()) continue;  // more of the prompt to read
    TokenEvent event{s.request.id, kNoToken, Finish::none, 0, {}, {}, 0};
    if (s.generated == 0) {
      event.cached_tokens = s.cached_tokens;
      if (s.request.prompt_logprobs) event.prompt = std::move(s.prompt_scores);
    }
    if (s.request.max_tokens == 0) {  // the prompt only was scored
      event.finish = Finish::length;
    } else if (const std::string_view failure = s.sampler.constraint_failure(); !failure.empty()) {
      report.failed.emplace_back(s.request.id, std::string(failure));  // its draw came from no mask: unused
      leave_running(s);
      s.state = SequenceState::finished;
      continue;
    } else {
      sampler::Sampled& next = sampled_[size_t(sample_of_entry_[i])];
      s.sampler.accept(next.token);
      s.tokens.push_back(next.token);
      ++s.generated;
      event.token = next.token;
      event.logprob = next.logprob;
      event.top = std::move(next.top);
      if (s.request.sampling.is_stop_token(next.token, end_of_generation_)) {
        event.finish = Finish::stop;
      } else if (s.sampler.constraint_finished()) {
        event.finish = Finish::complete;
      } else if (s.generated >= s.request.max_tokens || s.tokens.size() >= limits_.ctx_size) {
        event.finish = Finish::length;
      }
    }
    if (event.finish != Finish::none) {
      leave_running(s);
      s.state = SequenceState::finished;
    }
    report.events.push_back(std::move(event));
  }
  std::erase_if(running_, [](const SequencePtr& s) { return s->state == SequenceState::finished; });
}

}  // namespace rs::engine
