#pragma once
// Stop strings on streamed text. Text goes out as soon as it cannot be the
// start of a stop string; a suffix that may still become one is held back.
// On a match, only the text before the stop string goes out: neither the stop
// string nor anything after it. Held-back text starts on a UTF-8 character
// boundary and is at most the longest stop string less one byte (or the up to
// 3 bytes of a character a chunk ends inside of), so no character is split.
//
// The stop string that completes first in the text wins (of two completing
// together, the one starting earlier), which makes the result the same however
// the text is split into chunks.
#include <string>
#include <string_view>
#include <vector>

namespace rs::sampler {

struct StopOutput {
  std::string emit;      // text to send on
  bool stopped = false;  // a stop string matched: the text has ended
};

class StopMatcher {
 public:
  // Empty strings (which SamplingParams::validate rejects) are ignored.
  explicit StopMatcher(std::vector<std::string> stops);

  // The next chunk of text. After a stop, returns nothing more and stopped.
  StopOutput push(std::string_view text);
  // The held-back text, when generation ends otherwise (a stop token, max_tokens).
  std::string finish();
  // The stop string that matched (vLLM's stop_reason); empty before a stop.
  std::string_view matched() const;

 private:
  std::vector<std::string> stops_;
  size_t longest_ = 0;  // bytes of the longest stop string
  std::string held_;
  size_t matched_ = 0;  // index in stops_, once stopped
  bool stopped_ = false;
};

}  // namespace rs::sampler
