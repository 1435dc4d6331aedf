#include "core/api/completion.h"

#include <fmt/format.h>

#include <cstdint>
#include <ctime>
#include <random>

#include "core/api/forced_tool_calls.h"

namespace rs::api {
namespace {

// Response ids only need to be unique: a per-thread generator, seeded once.
std::string response_id(Endpoint endpoint) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{}{:016x}{:08x}", endpoint == Endpoint::chat ? "chatcmpl-" : "cmpl-", random(),
                     uint32_t(random()));
}

// What reads a chat choice's tool calls: the model's own format ("auto") or the output a schema forced; none
// when the request offers no function to call.
std::unique_ptr<ToolCallReader> tool_call_reader(const CompletionRequest& request, ToolCallFormat format) {
  switch (request.tool_choice.kind) {
    case ToolChoice::Kind::none: return nullptr;
    case ToolChoice::Kind::automatic:
      return native_tool_call_reader(format, request.parallel_tool_calls ? UINT32_MAX : 1);
    case ToolChoice::Kind::required:
    case ToolChoice::Kind::named: return forced_tool_call_reader(request.tool_choice, format);
  }
  return nullptr;
}

}  // namespace

ResponseMeta new_response_meta(const ServingModel& model, Endpoint endpoint) {
  return {response_id(endpoint), int64_t(std::time(nullptr)), model.id, model.system_fingerprint};
}

Completion::Completion(const ServingModel& model, ShardStreams& streams, CompletionRequest request,
                       std::vector<PreparedPrompt> prompts, io::Reply reply, AdmissionTicket ticket)
    : model_(model),
      streams_(streams),
      request_(std::move(request)),
      prompts_(std::move(prompts)),
      reply_(reply),
      ticket_(std::move(ticket)) {
  meta_ = new_response_meta(model_, request_.endpoint);
  choices_.reserve(prompts_.size() * size_t(request_.n));
  for (uint32_t p = 0; p < prompts_.size(); ++p) {
    for (int32_t i = 0; i < request_.n; ++i) {
      Choice& c = choices_.emplace_back(*model_.tokenizer, request_.sampling.stop);
      c.request = streams_.next_request_id();
      c.prompt = p;
      c.tool_reader = tool_call_reader(request_, model_.tool_call_format);
    }
  }
  remaining_ = uint32_t(choices_.size());
  if (request_.tool_choice.kind == ToolChoice::Kind::automatic) {
    for (const std::string_view marker : tool_call_markers(model_.tool_call_format)) {
      const tokenizer::TokenId id = model_.tokenizer->vocab().id_of(marker);
      if (id >= 0 && model_.tokenizer->piece(id).empty()) tool_markers_.emplace_back(id, marker);
    }
  }
}

void Completion::start() {
  const bool chat = request_.endpoint == Endpoint::chat;
  reply_.on_abort([weak = weak_from_this()] {
    if (const auto self = weak.lock()) self->on_client_gone();
  });
  reply_.on_cut([weak = weak_from_this()] {
    if (const auto self = weak.lock()) self->on_shutdown();
  });
  if (request_.stream) {
    reply_.start({200, "text/event-stream", {{"Cache-Control", "no-cache"}}});
  }
  for (uint32_t i = 0; i < choices_.size(); ++i) {
    Choice& c = choices_[i];
    const PreparedPrompt& prompt = prompts_[c.prompt];
    const std::string_view echo = request_.echo && !chat ? std::string_view(prompt.text) : std::string_view();
    if (request_.stream && (chat || !echo.empty())) {
      ChunkPiece first;
      first.index = i;
      first.first = true;
      first.text = echo;
      send_chunk(first);
    } else {
      c.text = echo;
    }
    c.echo_bytes = echo.size();

    engine::GenerationRequest g;
    g.id = c.request;
    g.group = choices_.front().request;  // the choices of one request share its fair share of the slots
    g.prompt = prompt.tokens;
    g.sampling = request_.sampling;
    // Each choice its own stream of random numbers; with a seed, still repeatable.
    if (g.sampling.seed) g.sampling.seed = *g.sampling.seed + i;
    g.max_tokens = request_.sampling.max_tokens ? uint32_t(*request_.sampling.max_tokens) : UINT32_MAX;  // clamped to what fits
    g.prompt_logprobs = !echo.empty() && request_.sampling.logprobs;
    g.cache_salt = request_.cache_salt;
    if (g.max_tokens == 0 && !g.prompt_logprobs) {  // the echo alone: nothing for the engine to do
      emit(c, "", "length");
      continue;
    }
    streams_.track(c.request, shared_from_this(), i);
    streams_.engine().submit(std::move(g), streams_);
  }
}

TokenLogprob Completion::logprob_of(engine::TokenId token, float logprob,
                                    const std::vector<std::pair<engine::TokenId, float>>& top) const {
  const tokenizer::Tokenizer& t = *model_.tokenizer;
  TokenLogprob out{t.piece(token), logprob, false, {}};
  for (const auto& [id, alternative] : top) out.top.push_back({t.piece(id), alternative});
  return out;
}

// Echo with logprobs: the prompt's tokens lead the logprobs, the first with none (nothing predicts it).
void Completion::add_prompt_logprobs(Choice& c, const std::vector<sampler::Sampled>& scores) {
  const std::vector<tokenizer::TokenId>& prompt = prompts_[c.prompt].tokens;
  tokenizer::StreamDecoder decoder(*model_.tokenizer, true);
  size_t offset = 0;
  for (size_t i = 0; i < prompt.size(); ++i) {
    TokenLogprob entry;
    if (i == 0) entry = {model_.tokenizer->piece(prompt[0]), 0, true, {}};
    else entry = logprob_of(prompt[i], scores[i - 1].logprob, scores[i - 1].top);
    c.logprobs.push_back(std::move(entry));
    c.offsets.push_back(uint32_t(std::min(offset, c.echo_bytes)));
    offset += decoder.push(prompt[i]).size();
  }
}

void Completion::release(Choice& c, size_t end) {
  while (!c.held.empty() && c.held.front().offset < end) {
    if (request_.sampling.logprobs) {
      c.logprobs.push_back(std::move(c.held.front().logprob));
      c.offsets.push_back(uint32_t(c.echo_bytes + c.held.front().offset));
    }
    ++c.tokens;
    c.held.pop_front();
  }
}

void Completion::on_event(uint32_t choice, engine::TokenEvent& event) {
  if (ended_) return;
  Choice& c = choices_[choice];
  if (!event.prompt.empty()) add_prompt_logprobs(c, event.prompt);
  c.cached_tokens = std::max(c.cached_tokens, event.cached_tokens);
  const bool stop_token = event.finish == engine::Finish::stop;  // its text is not part of the output
  std::string text;
  if (stop_token) {
    ++c.tokens;
  } else if (event.token != engine::kNoToken) {
    text = c.decoder.push(event.token);
    for (const auto& [id, marker] : tool_markers_) {
      if (event.token == id) text += marker;
    }
    TokenLogprob logprob;
    if (request_.sampling.logprobs) logprob = logprob_of(event.token, event.logprob, event.top);
    c.held.push_back({c.decoded_bytes, std::move(logprob)});
  }
  if (event.finish != engine::Finish::none) text += c.decoder.finish();
  c.decoded_bytes += text.size();
  sampler::StopOutput out = c.stop.push(text);
  if (out.stopped) {
    if (event.finish == engine::Finish::none) streams_.finish(c.request);
    release(c, c.emitted_bytes + out.emit.size());
    c.held.clear();  // past the stop string: not part of the answer
    emit(c, out.emit, "stop");
  } else if (event.finish != engine::Finish::none) {
    out.emit += c.stop.finish();
    release(c, SIZE_MAX);
    emit(c, out.emit, event.finish == engine::Finish::length ? "length" : "stop");
  } else {
    release(c, c.emitted_bytes + out.emit.size());
    emit(c, out.emit, "");
  }
}

void Completion::emit(Choice& c, std::string_view text, std::string_view finish_reason) {
  c.emitted_bytes += text.size();
  if (!c.tool_reader) {
    deliver(c, text, {}, finish_reason);
    return;
  }
  ToolCallDelta delta;
  c.tool_reader->push(text, delta);
  if (!finish_reason.empty()) {
    c.tool_reader->finish(delta);
    if (finish_reason == "stop" && c.tool_reader->finish_as_tool_calls()) finish_reason = "tool_calls";
  }
  deliver(c, delta.content, delta.calls, finish_reason);
}

// A stream sends content, then each piece of a tool call in a chunk of its own, as OpenAI streams them: the
// logprobs of the tokens since the last chunk go with the first, finish_reason with the last.
void Completion::deliver(Choice& c, std::string_view text, std::span<const ToolCallFragment> calls,
                         std::string_view finish_reason) {
  if (request_.stream) {
    const bool content_chunk = !text.empty() || (calls.empty() && (!finish_reason.empty() || !c.logprobs.empty()));
    const size_t chunks = size_t(content_chunk) + calls.size();
    for (size_t k = 0; k < chunks; ++k) {
      ChunkPiece piece;
      piece.index = uint32_t(&c - choices_.data());
      if (content_chunk && k == 0) piece.text = text;
      else piece.tool_call = &calls[k - size_t(content_chunk)];
      if (k + 1 == chunks) piece.finish_reason = finish_reason;
      piece.logprobs = request_.sampling.logprobs;
      if (k == 0) {
        piece.tokens = c.logprobs;
        piece.text_offsets = c.offsets;
      }
      const bool sent = send_chunk(piece);
      if (k == 0) {
        c.logprobs.clear();
        c.offsets.clear();
      }
      if (!sent) {  // gone, or too slow to keep up: stop generating for it
        on_client_gone();
        return;
      }
    }
  } else {
    for (const ToolCallFragment& fragment : calls) add_fragment(c.tool_calls, fragment);
  }
  if (!request_.stream || on_answer_) c.text.append(text);  // a stream keeps its text only for on_answer
  if (!finish_reason.empty()) finish(c, finish_reason);
}

bool Completion::send_chunk(const ChunkPiece& piece) {
  chunk_.clear();
  if (request_.endpoint == Endpoint::chat) append_chat_chunk(chunk_, meta_, piece, request_.include_usage);
  else append_completion_chunk(chunk_, meta_, piece, request_.include_usage);
  return reply_.event(chunk_);
}

void Completion::finish(Choice& c, std::string_view finish_reason) {
  c.finish_reason = finish_reason;
  streams_.outcomes().count(finish_reason == "stop" || finish_reason == "tool_calls" ? Outcome::stop
                            : finish_reason == "length"                            ? Outcome::length
                                                                                   : Outcome::abort);
  if (--remaining_ == 0) complete();
}

void Completion::complete() {
  ended_ = true;
  Usage usage;
  for (const PreparedPrompt& p : prompts_) usage.prompt_tokens += uint32_t(p.tokens.size());
  std::vector<uint32_t> cached_per_prompt(prompts_.size(), 0);  // each prompt counts once: its best hit
  for (const Choice& c : choices_) {
    usage.completion_tokens += c.tokens;
    cached_per_prompt[c.prompt] = std::max(cached_per_prompt[c.prompt], c.cached_tokens);
  }
  for (const uint32_t cached : cached_per_prompt) usage.cached_tokens += cached;
  const bool chat = request_.endpoint == Endpoint::chat;
  if (on_answer_ && choices_.size() == 1 &&
      (choices_[0].finish_reason == "stop" || choices_[0].finish_reason == "length")) {
    on_answer_(choices_[0].text, choices_[0].finish_reason, choices_[0].tokens);
  }
  if (request_.stream) {
    if (request_.include_usage) {
      chunk_.clear();
      append_usage_chunk(chunk_, meta_, chat, usage);
      reply_.event(chunk_);
    }
    reply_.event("[DONE]");
    reply_.end();
  } else {
    std::vector<ChoiceResult> results;
    results.reserve(choices_.size());
    for (uint32_t i = 0; i < choices_.size(); ++i) {
      Choice& c = choices_[i];
      results.push_back({i, std::move(c.text), c.finish_reason, request_.sampling.logprobs, std::move(c.logprobs),
                         std::move(c.offsets), std::move(c.tool_calls)});
    }
    io::Response response;
    std::string body;
    if (chat) append_chat_completion(body, meta_, results, usage);
    else append_completion(body, meta_, results, usage);
    response.body = std::move(body);
    reply_.send(std::move(response));
  }
  ticket_ = AdmissionTicket();
}

void Completion::on_reject(uint32_t, int status, const std::string& message) {
  if (ended_) return;
  cancel_running(Outcome::rejected);
  ended_ = true;
  if (request_.stream) {
    std::string body = io::error_body(status, message);
    while (!body.empty() && body.back() == '\n') body.pop_back();  // one SSE data line
    reply_.event(body);
    reply_.event("[DONE]");
    reply_.end();
  } else {
    reply_.send(io::error_response(status, message));
  }
  ticket_ = AdmissionTicket();
}

void Completion::cancel_running(Outcome outcome) {
  for (const Choice& c : choices_) {
    if (!c.finish_reason.empty()) continue;
    streams_.cancel(c.request);
    streams_.outcomes().count(outcome);
  }
}

void Completion::on_client_gone() {
  if (ended_) return;
  ended_ = true;
  cancel_running(Outcome::cancelled);
  ticket_ = AdmissionTicket();
}

// A stream's unfinished choices end with finish_reason "abort" (as vLLM's do), then usage and [DONE]: the
// client sees a shutdown, not a network fault. A whole response not yet sent is a 503 to retry elsewhere.
void Completion::on_shutdown() {
  if (ended_) return;
  if (!request_.stream) {
    cancel_running(Outcome::abort);
    ended_ = true;
    io::Response response = io::error_response(503, "the server shut down before the response was complete; retry");
    response.headers.push_back({"Retry-After", "1"});
    reply_.send(std::move(response));
    ticket_ = AdmissionTicket();
    return;
  }
  for (Choice& c : choices_) {
    if (c.finish_reason.empty() && !ended_) {
      streams_.cancel(c.request);
      release(c, c.emitted_bytes);
      emit(c, "", "abort");
    }
  }
}

}  // namespace rs::api
