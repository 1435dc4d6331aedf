// The whole tool against a fake server that saturates at 4 concurrent
// streams: the inflection point, the recommendation, the cost and the files
// must come out as scripted. The sweep runs on the fake server's scripted
// clock, so its figures are exact on a busy machine too; the command line is
// driven in real time where no figure depends on time.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "perf/ringperf/analysis.h"
#include "perf/ringperf/cli.h"
#include "perf/ringperf/outputs.h"
#include "perf/ringperf/scenario.h"
#include "perf/ringperf/sweep.h"
#include "tests/ringperf/fake_openai_server.h"
#include "tests/ringperf/scripted_clock.h"

namespace rs::ringperf {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int run_ringperf(std::vector<std::string> args) {
  args.insert(args.begin(), "ringperf");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return run_cli(static_cast<int>(argv.size()), argv.data());
}

// What `ringperf run` writes, from `results`.
void write_outputs(const RunResults& results, const std::string& out) {
  std::filesystem::create_directories(out);
  write_results_json(results, out + "/results.json");
  write_results_csv(results, out + "/results.csv");
  write_requests_csv(results, out + "/requests.csv");
  write_report(results, write_chart(results, out), out + "/report.md");
}

TEST(Sweep, FindsTheScriptedInflectionAndWritesEveryOutput) {
  // 4 slots: up to 4 users stream at full speed (20 ms TTFT, then 5 ms a token: 65 ms for 10 tokens);
  // more users' requests wait for a slot, so throughput stays at 4 streams while TTFT climbs.
  test::ScriptedClock clock;
  test::FakeOpenAiServer server(test::FakeScript{.ttft_ms = 20, .itl_ms = 5, .default_tokens = 10, .slots = 4}, &clock);
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / fmt::format("ringperf-sweep-{}", getpid());
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "saturate.json") << R"({
    "description": "fake server with 4 slots",
    "workload": {"type": "fixed", "input_tokens": 8, "output_tokens": 10},
    "load": {"shape": "closed", "concurrency": [1, 2, 4, 8], "warmup_seconds": 0.3, "duration_seconds": 1}})";
  const std::string out = (folder / "out").string();
  RunOptions options;
  options.url = server.url();
  options.targets.ttft_ms = 40;
  options.cost = CostInputs{3.6, 4};
  options.progress = false;
  write_outputs(run_sweep(load_scenario((folder / "saturate.json").string()), options, server.address(), clock), out);

  simdjson::dom::parser parser;
  const simdjson::dom::element results = parser.load(out + "/results.json");
  EXPECT_EQ(std::string_view(results["model"]), "fake-model");
  EXPECT_DOUBLE_EQ(double(results["tokens_per_word"]), 1.0);  // the fake's /tokenize counts words
  const simdjson::dom::array points = results["points"];
  ASSERT_EQ(points.size(), 4u);
  std::vector<double> output_tps;
  for (const auto point : points) {
    output_tps.push_back(double(point["output_tokens_per_s"]));
    EXPECT_EQ(int64_t(point["failed"]), 0);
  }
  // Each stream ends a request every 65 ms: 15 of them end in a point's window of 1 s after the 0.3 s warm-up.
  // Throughput doubles with the users up to 4, then stays.
  EXPECT_EQ(output_tps, (std::vector<double>{150, 300, 600, 600}));
  // TTFT is the scripted 20 ms while a slot is free; 8 users each wait one request (65 ms) for one.
  EXPECT_DOUBLE_EQ(double(points.at(2)["ttft_ms"]["p99"]), 20);
  EXPECT_DOUBLE_EQ(double(points.at(3)["ttft_ms"]["p50"]), 65 + 20);

  ASSERT_FALSE(results["inflection"].is_null());
  EXPECT_EQ(int64_t(results["inflection"]["concurrency"]), 4);
  EXPECT_EQ(int64_t(results["recommendation"]["concurrency"]), 4);  // TTFT p90 ≤ 40 ms: 4 users, not 8
  // Cost at the inflection point by GKE's formula: $0.001/s over (input/4 + output) tokens/s.
  ASSERT_FALSE(results["cost"].is_null());
  const simdjson::dom::element point = points.at(2);
  const TokenCost expected =
      token_cost(double(point["input_tokens_per_s"]), double(point["output_tokens_per_s"]), CostInputs{3.6, 4});
  EXPECT_EQ(int64_t(results["cost"]["concurrency"]), 4);
  EXPECT_DOUBLE_EQ(double(results["cost"]["dollars_per_million_output_tokens"]), expected.dollars_per_million_output);
  EXPECT_DOUBLE_EQ(double(results["cost"]["dollars_per_million_input_tokens"]), expected.dollars_per_million_input);

  const std::string csv = read_file(out + "/results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);  // header + 4 points
  EXPECT_TRUE(csv.starts_with("point,shape,concurrency,rate,window_s,succeeded,failed,"));
  EXPECT_NE(csv.find("ttft_ms_p50,ttft_ms_p90,ttft_ms_p99"), std::string::npos);
  const std::string requests = read_file(out + "/requests.csv");
  EXPECT_GT(std::count(requests.begin(), requests.end(), '\n'), 40);
  const std::string report = read_file(out + "/report.md");
  EXPECT_NE(report.find("**concurrency 4**"), std::string::npos) << report;
  EXPECT_NE(report.find("**Max concurrency 4**"), std::string::npos) << report;
  EXPECT_NE(report.find("| per million input tokens | per million output tokens |"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out + "/latency-throughput.gp"));
  EXPECT_TRUE(std::filesystem::exists(out + "/latency-throughput.dat"));
  EXPECT_NE(read_file(out + "/latency-throughput.gp").find("inflection: concurrency 4"), std::string::npos);
  std::filesystem::remove_all(folder);
}

TEST(Sweep, AServerThatFinishesNothingStopsTheSweepWithAWarning) {
  test::FakeOpenAiServer server;
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / fmt::format("ringperf-stuck-{}", getpid());
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "stuck.jsonl") << R"({"prompt": "hang"})"
                                        << "\n";
  std::ofstream(folder / "stuck.json") << R"({"workload": {"type": "jsonl", "path": "stuck.jsonl"},
    "load": {"shape": "closed", "concurrency": [1, 2, 4], "warmup_seconds": 0, "duration_seconds": 0.3}})";
  const std::string out = (folder / "out").string();
  ASSERT_EQ(run_ringperf({"run", (folder / "stuck.json").string(), "--url", server.url(), "--out", out,
                          "--gpu-dollars-per-hour", "1", "--no-progress"}),
            0);
  simdjson::dom::parser parser;
  const simdjson::dom::element results = parser.load(out + "/results.json");
  const simdjson::dom::array points = results["points"];
  EXPECT_EQ(points.size(), 1u);
  EXPECT_EQ(int64_t(points.at(0)["unfinished"]), 1);
  const std::string warning(std::string_view(results["warnings"].at(0)));
  EXPECT_NE(warning.find("no request finished in the window"), std::string::npos) << warning;
  EXPECT_TRUE(results["inflection"].is_null());
  EXPECT_TRUE(results["cost"]["dollars_per_million_output_tokens"].is_null());  // no throughput, no price
  std::filesystem::remove_all(folder);
}

TEST(Sweep, ValidateReportsBadScenariosAndTheRunRefusesThem) {
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / fmt::format("ringperf-validate-{}", getpid());
  std::filesystem::create_directories(folder);
  const std::string bad = (folder / "bad.json").string();
  std::ofstream(bad) << R"({"workload": {"type": "fixed"}, "load": {"shape": "closed", "concurrency": [1]}})";
  const std::string good = fmt::format("{}/perf/scenarios/default.json", RINGSERVE_SOURCE_DIR);
  EXPECT_EQ(run_ringperf({"validate", good}), 0);
  EXPECT_EQ(run_ringperf({"validate", good, bad}), 1);
  EXPECT_EQ(run_ringperf({"run", bad, "--url", "http://127.0.0.1:9", "--out", (folder / "out").string()}), 1);
  EXPECT_FALSE(std::filesystem::exists(folder / "out" / "results.json"));
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace rs::ringperf
