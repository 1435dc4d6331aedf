// The BERT encoder against the float64 reference of the same weights, and
// against itself: batched, alone and on any number of threads.
#include "core/cpu/bert_encoder.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/cpu/model_weights.h"
#include "core/model/model_error.h"
#include "core/model/synth.h"
#include "tests/cpu/encoder_reference.h"
#include "tests/kernels/per_target.h"

namespace rs::cpu {
namespace {

using model::Pooling;
using model::TensorType;
using Inputs = std::vector<std::vector<int32_t>>;

constexpr int32_t kCls = 2, kSep = 3;  // in synth's WordPiece vocabulary

std::string synth_encoder(const std::string& preset, TensorType type, Pooling pooling) {
  const std::string path = ::testing::TempDir() + "/encoder-" + preset + "-" + std::string(model::info(type).name) +
                           "-" + std::string(model::pooling_name(pooling)) + ".gguf";
  if (!std::filesystem::exists(path)) {
    model::synth_model({.architecture = model::SynthArchitecture::bert, .preset = preset, .type = type, .seed = 11,
                        .vocab_from = "", .pooling = pooling, .output = path});
  }
  return path;
}

// [CLS] `length` − 2 random word pieces [SEP], as a tokenizer hands them over.
Inputs random_inputs(std::initializer_list<size_t> lengths, uint32_t vocab, uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<int32_t> piece(5, int32_t(vocab) - 1);
  Inputs inputs;
  for (const size_t length : lengths) {
    std::vector<int32_t>& input = inputs.emplace_back(length);
    for (int32_t& id : input) id = piece(random);
    input.front() = kCls;
    input.back() = kSep;
  }
  return inputs;
}

std::vector<float> encode(BertEncoder& encoder, const Inputs& inputs) {
  const std::vector<std::span<const int32_t>> spans(inputs.begin(), inputs.end());
  std::vector<float> out(inputs.size() * encoder.dims());
  encoder.encode(spans, out);
  return out;
}

double max_abs_error(std::span<const float> got, const std::vector<std::vector<double>>& want) {
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const float* row = &got[i * want[i].size()];
    for (size_t j = 0; j < want[i].size(); ++j) worst = std::max(worst, std::abs(row[j] - want[i][j]));
  }
  return worst;
}

struct Case {
  TensorType type;
  Pooling pooling;
  double bound;  // max |encoder − reference| over every component
};

class EncoderVsReference : public ::testing::TestWithParam<Case> {};

// Several inputs of different lengths in one call, on every SIMD target.
// f32 and f16 weights dot f32 activations, so only float rounding separates
// the encoder from the exact reference (f16 weights are exactly their
// dequantized values): about 1e-7 measured, on unit vectors. q8_0 weights dot
// activations quantized to q8_0, as llama.cpp does: that rounding alone moves
// the components by about 4e-3 here.
TEST_P(EncoderVsReference, VectorsMatchTheFloat64Reference) {
  const Case c = GetParam();
  const std::string path = synth_encoder("tiny", c.type, c.pooling);
  BertEncoder encoder(path, 2, {.direct = false});
  const Inputs inputs = random_inputs({2, 7, 19, 40}, encoder.desc().vocab_size, 1);
  const auto reference = testing::reference_embeddings(path, inputs);
  for (const int64_t target : kernels::simd_targets()) {
    const kernels::ForceTarget force(target);
    EXPECT_LT(max_abs_error(encode(encoder, inputs), reference), c.bound) << hwy::TargetName(target);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, EncoderVsReference,
                         ::testing::Values(Case{TensorType::f32, Pooling::mean, 1e-6},
                                           Case{TensorType::f32, Pooling::cls, 1e-6},
                                           Case{TensorType::f16, Pooling::mean, 1e-6},
                                           Case{TensorType::q8_0, Pooling::cls, 1e-2}),
                         [](const auto& info) {
                           return std::string(model::info(info.param.type).name) + "_" +
                                  std::string(model::pooling_name(info.param.pooling));
                         });

// The integer dot products compute what their definition says, on every SIMD
// target: the reference that rounds activations to q8_0 as ggml does agrees to
// float precision. (On this input no activation lies within float rounding of
// a q8_0 step; one that did would round the other way and cost about 1e-3.)
TEST(BertEncoder, Q8_0MatchesTheReferenceRoundingAsGgml) {
  const std::string path = synth_encoder("tiny", TensorType::q8_0, Pooling::mean);
  BertEncoder encoder(path, 2, {.direct = false});
  const Inputs inputs = random_inputs({5}, encoder.desc().vocab_size, 2);
  const auto reference = testing::reference_embeddings(path, inputs, {.activations = true});
  for (const int64_t target : kernels::simd_targets()) {
    const kernels::ForceTarget force(target);
    EXPECT_LT(max_abs_error(encode(encoder, inputs), reference), 1e-6) << hwy::TargetName(target);
  }
}

// bge-small's shapes (384 wide, 12 heads of 32, 12 layers), on its own pooling (CLS).
TEST(BertEncoder, BgeSmallShapesMatchTheReference) {
  const std::string path = synth_encoder("bge-small", TensorType::f32, Pooling::cls);
  BertEncoder encoder(path, 2, {.direct = false});
  EXPECT_EQ(encoder.dims(), 384u);
  EXPECT_EQ(encoder.max_tokens(), 512u);
  const Inputs inputs = random_inputs({3, 12}, encoder.desc().vocab_size, 3);
  EXPECT_LT(max_abs_error(encode(encoder, inputs), testing::reference_embeddings(path, inputs)), 1e-6);
}

// llama.cpp on the same weights (the release node-llama-cpp 3.22.1 bundles):
// `ringserve synth --arch bert --preset tiny --type f32 --seed 11 -o F`, then
// `llama-embedding -m F -p "hello world, this is ringserve" --verbose-prompt
// --embd-output-format array -fa off` gave these token ids and this vector.
// llama.cpp is about 3e-5 from the float64 reference (its CPU GELU reads an
// fp16 table, GGML_GELU_FP16); the encoder is about 1e-7 from it.
TEST(BertEncoder, MatchesLlamaCppOnTheSameWeights) {
  const std::vector<int32_t> ids = {2, 565, 788, 162, 1365, 1100, 140, 27, 1195, 646, 645, 1093, 882, 3002, 1294, 3};
  const std::vector<double> llama_cpp = {
      -0.0550111, -0.0729571, 0.0803582,  0.0382955,  -0.0409250, -0.0528920, 0.1606358,  0.0023996,
      0.0123601,  0.0523409,  0.0758055,  0.0393398,  0.0179552,  0.1821555,  -0.0815862, -0.1344909,
      -0.1600195, -0.1421881, -0.0610269, 0.0053061,  0.1913295,  -0.1133398, -0.0229361, 0.0817022,
      -0.0352200, -0.2607231, 0.1371963,  -0.1462931, 0.1226507,  -0.0972053, -0.0065718, -0.0271214,
      0.0515413,  -0.0722752, 0.3250308,  0.0415477,  -0.0096269, 0.0449993,  -0.0183770, 0.0471948,
      0.0818853,  0.1343166,  -0.2152196, 0.0368665,  0.2244112,  0.2217419,  -0.0939562, -0.1152546,
      0.0944372,  -0.1877685, 0.0737503,  -0.0903135, 0.2787758,  0.2325144,  -0.0350899, 0.0893577,
      -0.0939837, -0.1207588, -0.0394567, -0.0021705, 0.0344366,  -0.1565321, -0.1993954, -0.2021853,
  };
  BertEncoder encoder(synth_encoder("tiny", TensorType::f32, Pooling::mean), 2, {.direct = false});
  EXPECT_LT(max_abs_error(encode(encoder, {ids}), {llama_cpp}), 1e-4);
}

// Batched with others, each input gets exactly what it gets alone, whatever the thread count.
TEST(BertEncoder, BatchEqualsEachInputAloneBitForBit) {
  for (const TensorType type : {TensorType::f32, TensorType::q8_0}) {
    const std::string path = synth_encoder("tiny", type, Pooling::mean);
    BertEncoder one_thread(path, 1, {.direct = false});
    BertEncoder three_threads(path, 3, {.direct = false});
    const Inputs inputs = random_inputs({9, 2, 33, 17, 128}, one_thread.desc().vocab_size, 4);
    const std::vector<float> batched = encode(three_threads, inputs);
    EXPECT_EQ(encode(one_thread, inputs), batched) << model::info(type).name;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::vector<float> alone = encode(one_thread, {inputs[i]});
      EXPECT_EQ(std::memcmp(alone.data(), &batched[i * one_thread.dims()], alone.size() * sizeof(float)), 0)
          << model::info(type).name << " input " << i;
    }
  }
}

TEST(BertEncoder, VectorsHaveUnitLength) {
  const std::string path = synth_encoder("tiny", TensorType::f16, Pooling::cls);
  BertEncoder encoder(path, 2, {.direct = false});
  const Inputs inputs = random_inputs({2, 5, 60}, encoder.desc().vocab_size, 5);
  const std::vector<float> out = encode(encoder, inputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    double norm = 0;
    for (size_t j = i * encoder.dims(); j < (i + 1) * encoder.dims(); ++j) norm += double(out[j]) * out[j];
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-6) << "input " << i;
  }
}

TEST(BertEncoder, RefusesInputsTheModelCannotTake) {
  const std::string path = synth_encoder("tiny", TensorType::f32, Pooling::mean);
  BertEncoder encoder(path, 1, {.direct = false});
  const auto error = [&](const Inputs& inputs, size_t out_size) -> std::string {
    const std::vector<std::span<const int32_t>> spans(inputs.begin(), inputs.end());
    std::vector<float> out(out_size);
    try {
      encoder.encode(spans, out);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  const size_t d = encoder.dims();
  EXPECT_EQ(error(random_inputs({129}, 100, 6), d), "encode: input 0 has 129 tokens; the model takes 1 to 128");
  EXPECT_EQ(error({{kCls, kSep}, {}}, 2 * d), "encode: input 1 has 0 tokens; the model takes 1 to 128");
  const int32_t vocab = int32_t(encoder.desc().vocab_size);
  EXPECT_EQ(error({{kCls, vocab, kSep}}, d),
            fmt::format("encode: input 0 has token {}, outside the vocabulary of {}", vocab, vocab));
  EXPECT_EQ(error({{kCls, -1}}, d), fmt::format("encode: input 0 has token -1, outside the vocabulary of {}", vocab));
  EXPECT_EQ(error({{kCls, kSep}}, d + 1),
            fmt::format("encode: out holds {} floats, not 1 inputs × {} dims", d + 1, d));
  EXPECT_EQ(error({}, 0), "no error");
}

// serve, run and the GPU loader describe through describe_model: an encoder's file is refused there, clearly.
TEST(BertEncoder, LanguageModelPathsRefuseAnEncoderFile) {
  const std::string path = synth_encoder("tiny", TensorType::f32, Pooling::mean);
  try {
    describe_model(path);
    ADD_FAILURE() << "an encoder was described as a language model";
  } catch (const model::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("is a sentence-embedding encoder"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rs::cpu
