// `ringserve plan` as a user runs it, and deploy/'s manifests against its output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "tests/support/ci.h"

namespace rs::test {
namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command in `dir`.
Result shell(const std::string& command, const fs::path& dir) {
  Result result;
  FILE* pipe = popen(("cd '" + dir.string() + "' && " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  for (size_t n; (n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

Result ringserve(const std::string& args, const fs::path& dir) { return shell("'" RINGSERVE_BINARY "' " + args, dir); }

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

const fs::path kSource = RINGSERVE_SOURCE_DIR;

// The reference model of the checked-in manifests (~0.5 GB, random weights): ctest writes it once for every test
// (the PlanModel fixture) and names it in RINGSERVE_PLAN_MODEL; a run without ctest writes its own.
class PlanBinary : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("ringserve-plan-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    if (const char* model = std::getenv("RINGSERVE_PLAN_MODEL"); model != nullptr && fs::exists(model)) {
      fs::create_symlink(model, dir_ / "model-1b-q4_0.gguf");
      return;
    }
    const Result synth = ringserve("synth --preset 1b --type q4_0 -o model-1b-q4_0.gguf", dir_);
    ASSERT_EQ(synth.status, 0) << synth.output;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static fs::path dir_;
};
fs::path PlanBinary::dir_;

TEST_F(PlanBinary, OneBPresetOnAnL4IsTheHandArithmetic) {
  const Result r = ringserve("plan --model model-1b-q4_0.gguf --gpu-memory 24 --json", dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  // Llama 3.2 1B shapes: 2048 wide, 16 layers, 32 heads (8 KV) of 64, ffn 8192; 260 byte-vocabulary tokens.
  // q4_0: 18 bytes per 32 weights; norms f32; untied embeddings.
  const uint64_t layer = (2048ull * 2048 * 2 + 2048ull * 512 * 2 + 3ull * 2048 * 8192) / 32 * 18 + 2 * 2048 * 4;
  const uint64_t weights = 16 * layer + 2 * 260ull * 2048 / 32 * 18 + 2048 * 4;
  EXPECT_EQ(weights, 548226048u);
  // Floats of the step's activations at 2048 tokens and 64 logits rows (each buffer a multiple of 64 floats).
  const uint64_t activations = 4 * (5 * 2048ull * 2048 + 2 * 2048ull * 512 + 2 * 2048ull * 8192 + 64 * 2048 + 64 * 260);
  const uint64_t gemm = 2048ull * 8192 * 2 + (64ull << 20) + (32ull << 20);  // f16 inputs, tile bound, cuBLAS
  const uint64_t workspace = activations + gemm + (256ull << 20);
  const uint64_t per_token = 16 * 2 * 8 * 64 * 2;  // f16 keys and values
  const uint64_t blocks = uint64_t((0.9 * 24 * double(1ull << 30) - double(weights + workspace)) / (per_token * 16)) - 1;
  const std::string expected = "\"weight_bytes\":" + std::to_string(weights) +
                               ",\"workspace_bytes\":" + std::to_string(workspace) +
                               ",\"kv_type\":\"f16\",\"kv_bytes_per_token\":" + std::to_string(per_token) +
                               ",\"block_tokens\":16,\"kv_blocks\":" + std::to_string(blocks);
  EXPECT_NE(r.output.find(expected), std::string::npos) << expected << "\n" << r.output;
  // 4096-token contexts: 256 blocks each; 64 of them cap parallel queries; 64 + 64 by Google's rule.
  EXPECT_NE(r.output.find("\"full_context_sequences\":" + std::to_string(blocks / 256)), std::string::npos);
  EXPECT_NE(r.output.find(R"("parallel_queries":64,"ideal_batch_size":64,"ideal_batch_source":"--max-seqs",)"
                          R"("max_concurrency":128})"),
            std::string::npos)
      << r.output;
}

TEST_F(PlanBinary, CpuRuleIsMaxSeqsContextsWithinAQuarterOfMemory) {
  const Result r = ringserve("plan --model model-1b-q4_0.gguf --device cpu --memory 16 --json", dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  // 64 contexts × 256 blocks × 512 KiB = 8 GiB > a quarter of 16 GiB: 4 GiB, 8192 blocks, 32 contexts.
  EXPECT_NE(r.output.find(R"("kv_blocks":8192,"kv_pool_bytes":4294967296,"kv_tokens":131072,"ctx_size":4096,)"
                          R"("full_context_sequences":32,"model_instances":1,"parallel_queries":32,)"
                          R"("ideal_batch_size":64)"),
            std::string::npos)
      << r.output;
}

TEST_F(PlanBinary, MeasuredBatchComesFromARingperfResult) {
  std::ofstream(dir_ / "results.json") << R"({"points": [
    {"shape":"closed","concurrency":8,"succeeded":100,"failed":0,"ntpot_ms":{"p90":20},"ttft_ms":{"p90":300}},
    {"shape":"closed","concurrency":16,"succeeded":100,"failed":0,"ntpot_ms":{"p90":40},"ttft_ms":{"p90":600}},
    {"shape":"closed","concurrency":32,"succeeded":100,"failed":0,"ntpot_ms":{"p90":90},"ttft_ms":{"p90":900}}],
    "inflection": {"index":0,"shape":"closed","concurrency":8},
    "targets": {"ntpot_ms":null,"ttft_ms":null,"percentile":90,"max_error_fraction":0.01}})";
  const Result targeted = ringserve(
      "plan --model model-1b-q4_0.gguf --json --from results.json --target-ntpot-ms 50 --target-ttft-ms 1000", dir_);
  ASSERT_EQ(targeted.status, 0) << targeted.output;
  EXPECT_NE(targeted.output.find(R"("ideal_batch_size":16,"ideal_batch_source":"the largest concurrency of )"
                                 R"(results.json with p90 NTPOT ≤ 50 ms, TTFT ≤ 1000 ms","max_concurrency":80})"),
            std::string::npos)
      << targeted.output;
  const Result knee = ringserve("plan --model model-1b-q4_0.gguf --from results.json", dir_);
  EXPECT_NE(knee.output.find("64 parallel queries (full contexts held, at most --max-seqs) + 1 × 8 ideal batch "
                             "size (the inflection point of results.json)"),
            std::string::npos)
      << knee.output;
  const Result unmet = ringserve("plan --model model-1b-q4_0.gguf --from results.json --target-ntpot-ms 5", dir_);
  EXPECT_EQ(unmet.status, 1);
  EXPECT_NE(unmet.output.find("--from results.json: no point of the sweep has p90 NTPOT ≤ 5 ms"), std::string::npos)
      << unmet.output;
}

TEST_F(PlanBinary, ErrorsNameTheFlag) {
  const Result small = ringserve("plan --model model-1b-q4_0.gguf --gpu-memory 1", dir_);
  EXPECT_EQ(small.status, 1);
  EXPECT_NE(small.output.find("raise --gpu-memory"), std::string::npos) << small.output;
  const Result q8 = ringserve("plan --model model-1b-q4_0.gguf --kv-type q8_0", dir_);
  EXPECT_NE(q8.output.find("--kv-type q8_0: the CUDA executor stores the KV cache as f16 or f32"), std::string::npos)
      << q8.output;
  const Result cpu_emit = ringserve("plan --model model-1b-q4_0.gguf --device cpu --emit gke", dir_);
  EXPECT_NE(cpu_emit.output.find("--emit writes manifests for one nvidia-l4"), std::string::npos) << cpu_emit.output;
}

// Each checked-in manifest's first line names the command that made it: run it, compare every byte.
TEST_F(PlanBinary, CheckedInManifestsAreWhatTheBinaryEmits) {
  for (const fs::path& manifest : {kSource / "deploy/cloudrun/service.yaml", kSource / "deploy/gke/ringserve.yaml",
                                   kSource / "deploy/gke/inference-gateway/ringserve.yaml"}) {
    const std::string text = file_text(manifest);
    std::smatch command;
    ASSERT_TRUE(std::regex_search(text, command, std::regex("^# Made by `ringserve (plan [^`]*)`"))) << manifest;
    const Result now = ringserve(command[1], dir_);
    ASSERT_EQ(now.status, 0) << now.output;
    EXPECT_EQ(now.output, text) << manifest << " has drifted from `ringserve " << command[1] << "`: regenerate it";
  }
}

TEST(DeployManifest, ParseAsYamlAndAgreeWithServe) {
  const fs::path help = fs::temp_directory_path() / ("ringserve-serve-help-" + std::to_string(getpid()));
  ASSERT_EQ(ringserve("serve --help > '" + help.string() + "'", kSource).status, 0);
  const Result r = shell("python3 tests/app/check_manifests.py '" + help.string() +
                             "' deploy/cloudrun/service.yaml deploy/gke/ringserve.yaml",
                         kSource);
  fs::remove(help);
  if (r.status == 77) RS_SKIP_UNLESS_CI(r.output);
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
}  // namespace rs::test
