// A model's identity: the same for the same file read twice and for a copy,
// different for other weights of the same shapes, another type, other shapes.
#include "core/model/model_identity.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/synth.h"

namespace rs::model {
namespace {

ModelDesc describe(const std::string& path) { return describe_gguf(read_gguf(path), path); }

class ModelIdentity : public ::testing::Test {
 protected:
  std::string synth(const std::string& name, TensorType type, uint64_t seed) {
    const std::string path = ::testing::TempDir() + "/identity-" + std::to_string(getpid()) + "-" + name + ".gguf";
    SynthOptions options;
    options.type = type;
    options.seed = seed;
    options.output = path;
    synth_model(options);
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& p : paths_) std::filesystem::remove(p);
  }
  std::vector<std::string> paths_;
};

TEST_F(ModelIdentity, TellsWeightsApartAndNothingElse) {
  const std::string a = synth("a", TensorType::f32, 1);
  const uint64_t identity = model_identity(describe(a));
  EXPECT_EQ(model_identity(describe(a)), identity);
  const std::string copy = ::testing::TempDir() + "/identity-" + std::to_string(getpid()) + "-copy.gguf";
  std::filesystem::copy_file(a, copy, std::filesystem::copy_options::overwrite_existing);
  paths_.push_back(copy);
  EXPECT_EQ(model_identity(describe(copy)), identity);  // where the file lives does not matter
  EXPECT_NE(model_identity(describe(synth("b", TensorType::f32, 2))), identity);  // another fine-tune
  EXPECT_NE(model_identity(describe(synth("c", TensorType::q8_0, 1))), identity);  // another quantization
}

}  // namespace
}  // namespace rs::model
