#pragma once
// One /v1/chat/completions or /v1/completions request on its shard: its
// choices run as engine requests; their tokens are detokenized as they come,
// cut at stop strings, read for tool calls when the request offers tools, and
// sent as SSE chunks (stream: true) or gathered into one response. A client
// that goes away cancels every choice at once.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/api/admission.h"
#include "core/api/openai_request.h"
#include "core/api/openai_response.h"
#include "core/api/prompt.h"
#include "core/api/serving_model.h"
#include "core/api/shard_streams.h"
#include "core/sampler/stop_matcher.h"
#include "core/tokenizer/stream_decoder.h"
#include "io/reply.h"

namespace rs::api {

// A fresh response id ("chatcmpl-…" or "cmpl-…"), now, and the model's names.
ResponseMeta new_response_meta(const ServingModel& model, Endpoint endpoint);

class Completion final : public ChoiceEvents, public std::enable_shared_from_this<Completion> {
 public:
  Completion(const ServingModel& model, ShardStreams& streams, CompletionRequest request,
             std::vector<PreparedPrompt> prompts, io::Reply reply, AdmissionTicket ticket);

  // Called once if the request's one choice ends with "stop" or "length": its whole text (what the semantic
  // cache stores). Set before start().
  using AnswerHook = std::function<void(std::string_view text, std::string_view finish_reason, uint32_t tokens)>;
  void on_answer(AnswerHook hook) { on_answer_ = std::move(hook); }

  // Submits every choice to the engine; for a stream, sends the head and the first chunks.
  void start();
  void on_event(uint32_t choice, engine::TokenEvent& event) override;
  void on_reject(uint32_t choice, int status, const std::string& message) override;

 private:
  // A generated token whose text has not all gone out: the stop matcher may still hold it back, and a
  // stop string may cut it off, when it is dropped from logprobs and usage.
  struct HeldToken {
    size_t offset;  // where its text starts in the generated text
    TokenLogprob logprob;
  };
  struct Choice {
    Choice(const tokenizer::Tokenizer& tokenizer, std::vector<std::string> stops)
        : decoder(tokenizer), stop(std::move(stops)) {}
    uint64_t request = 0;  // engine request id
    uint32_t prompt = 0;   // index in prompts_
    tokenizer::StreamDecoder decoder;
    sampler::StopMatcher stop;
    std::string text;      // everything so far (non-streaming), or the echo prefix
    uint32_t tokens = 0;   // completion tokens: those of the text returned, and a stop token
    uint32_t cached_tokens = 0;  // of its prompt, the ones the prefix cache gave
    std::deque<HeldToken> held;
    std::vector<TokenLogprob> logprobs;  // ready to go out: non-streaming all, streaming since the last chunk
    std::vector<uint32_t> offsets;       // completions' text_offset, with logprobs
    size_t echo_bytes = 0;               // the echoed prompt before the generated text
    size_t decoded_bytes = 0;            // generated text decoded so far
    size_t emitted_bytes = 0;            // generated text gone out (or kept) so far
    std::string finish_reason;           // "" while running
    std::unique_ptr<ToolCallReader> tool_reader;  // chat with tools to call; null otherwise
    std::vector<ToolCall> tool_calls;             // non-streaming: the calls so far
  };

  void on_client_gone();
  void on_shutdown();  // the server's drain deadline: end now, saying so
  void cancel_running(Outcome outcome);  // the unfinished choices, counted as `outcome`
  TokenLogprob logprob_of(engine::TokenId token, float logprob,
                          const std::vector<std::pair<engine::TokenId, float>>& top) const;
  void add_prompt_logprobs(Choice& c, const std::vector<sampler::Sampled>& scores);
  // Moves the held tokens whose text starts before `end` (bytes of generated text) into the output.
  void release(Choice& c, size_t end);
  // Text (possibly empty) for choice `c`, and its end when finish_reason is set: read for tool calls, then
  // delivered.
  void emit(Choice& c, std::string_view text, std::string_view finish_reason);
  // Sends (streaming) or keeps content and pieces of tool calls of `c`.
  void deliver(Choice& c, std::string_view text, std::span<const ToolCallFragment> calls,
               std::string_view finish_reason);
  bool send_chunk(const ChunkPiece& piece);  // false: the client is gone or too slow
  void finish(Choice& c, std::string_view finish_reason);
  void complete();  // every choice is done: the response ends

  const ServingModel& model_;
  ShardStreams& streams_;
  CompletionRequest request_;
  std::vector<PreparedPrompt> prompts_;
  io::Reply reply_;
  AdmissionTicket ticket_;
  ResponseMeta meta_;
  std::vector<Choice> choices_;
  uint32_t remaining_ = 0;
  bool ended_ = false;  // the response is complete (or the client gone)
  std::string chunk_;   // reused for every chunk
  // The tool call format's markers that are control tokens: the detokenizer drops them, the reader needs them.
  std::vector<std::pair<tokenizer::TokenId, std::string_view>> tool_markers_;
  AnswerHook on_answer_;
};

}  // namespace rs::api
