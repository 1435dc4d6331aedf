#include "tests/engine/tiny_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include "core/model/synth.h"
#include "core/sampler/constraint.h"

namespace rs::engine::testing {

using cpu::CpuExecutor;
using cpu::ModelWeights;

const ModelWeights& tiny_weights() {
  static const std::unique_ptr<ModelWeights> weights = [] {
    const std::string path = ::testing::TempDir() + "/scheduler-tiny-" + std::to_string(::getpid()) + ".gguf";
    model::SynthOptions options;
    options.type = model::TensorType::q8_0;
    options.seed = 11;
    options.output = path;
    model::synth_model(options);
    auto w = std::make_unique<ModelWeights>(cpu::describe_model(path), io::StreamOptions{.direct = false});
    std::filesystem::remove(path);
    return w;
  }();
  return *weights;
}

GenerationRequest request(uint64_t id, uint32_t prompt_tokens, uint32_t max_tokens, std::optional<uint64_t> seed) {
  GenerationRequest r;
  r.id = id;
  for (uint32_t i = 0; i < prompt_tokens; ++i) r.prompt.push_back(TokenId((id * 31 + i * 7 + 3) % 250 + 1));
  r.max_tokens = max_tokens;
  r.sampling.max_tokens = int32_t(max_tokens);
  if (seed) {
    r.sampling.temperature = 1.0f;
    r.sampling.seed = seed;
  } else {
    r.sampling.temperature = 0.0f;
  }
  r.sampling.ignore_eos = true;
  return r;
}

namespace {

class GivingUpConstraint final : public sampler::Constraint {
 public:
  explicit GivingUpConstraint(int allowing) : left_(allowing) {}
  void allowed(std::span<uint64_t> allowed) override {
    if (left_ == 0) failure_ = "gave up";
    else std::fill(allowed.begin(), allowed.end(), ~uint64_t(0));
  }
  void accept(TokenId) override { --left_; }
  bool finished() const override { return false; }
  std::string_view failure() const override { return failure_; }

 private:
  int left_;
  std::string failure_;
};

class GivingUpSource final : public sampler::ConstraintSource {
 public:
  explicit GivingUpSource(int allowing) : allowing_(allowing) {}
  std::unique_ptr<sampler::Constraint> start() const override {
    return std::make_unique<GivingUpConstraint>(allowing_);
  }

 private:
  int allowing_;
};

}  // namespace

std::shared_ptr<const sampler::ConstraintSource> giving_up_after(int allowing) {
  return std::make_shared<GivingUpSource>(allowing);
}

}  // namespace rs::engine::testing
