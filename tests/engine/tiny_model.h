#pragma once
// A tiny synthetic model and the requests the scheduler and engine tests run
// on it: shared by scheduler_test.cc and engine_test.cc.
#include <cstdint>
#include <memory>
#include <optional>

#include "core/cpu/cpu_executor.h"
#include "core/engine/scheduler.h"

namespace rs::engine::testing {

using cpu::CpuExecutor;
using cpu::ModelWeights;

// A q8_0 synth model, written once per process.
const ModelWeights& tiny_weights();

// Request `id`'s prompt of `prompt_tokens` tokens (derived from the id), ignoring EOS:
// greedy, or sampled at temperature 1 from `seed`.
GenerationRequest request(uint64_t id, uint32_t prompt_tokens, uint32_t max_tokens,
                          std::optional<uint64_t> seed = {});

// A constraint that allows every token `allowing` times, then fails with "gave up" (as a grammar whose mask
// cost past its budget does).
std::shared_ptr<const sampler::ConstraintSource> giving_up_after(int allowing);

}  // namespace rs::engine::testing
