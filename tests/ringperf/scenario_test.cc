#include "perf/ringperf/scenario.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace rs::ringperf {
namespace {

constexpr std::string_view kWorkload = R"("workload": {"type": "fixed", "input_tokens": 10, "output_tokens": 5})";
constexpr std::string_view kLoad = R"("load": {"shape": "closed", "concurrency": [1, 2], "duration_seconds": 5})";

std::string scenario(std::string_view workload = kWorkload, std::string_view load = kLoad,
                     std::string_view extra = "") {
  return fmt::format("{{{}, {}{}}}", workload, load, extra);
}

// The error parsing `json` gives, which must name the file.
std::string error_of(const std::string& json) {
  try {
    parse_scenario(json, "perf/scenarios/bad.json");
  } catch (const ScenarioError& e) {
    const std::string message = e.what();
    EXPECT_TRUE(message.starts_with("perf/scenarios/bad.json: ")) << message;
    return message;
  }
  ADD_FAILURE() << "accepted: " << json;
  return "";
}

#define EXPECT_ERROR(json, text) EXPECT_NE(error_of(json).find(text), std::string::npos) << error_of(json)

TEST(Scenario, EveryShippedScenarioIsValid) {
  const std::filesystem::path folder = std::filesystem::path(RINGSERVE_SOURCE_DIR) / "perf/scenarios";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".json") continue;
    EXPECT_NO_THROW(load_scenario(entry.path().string())) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 5);
  const Scenario standard = load_scenario((folder / "default.json").string());
  EXPECT_EQ(standard.name, "default");
  EXPECT_EQ(standard.load.concurrency, (std::vector<int>{1, 2, 4, 8, 16}));
}

TEST(Scenario, FieldsAndDefaults) {
  const Scenario s = parse_scenario(
      R"({"description": "d", "endpoint": "chat", "model": "m", "seed": 9, "ignore_eos": false,
          "request_fields": {"temperature": 0, "top_p": 0.5},
          "workload": {"type": "sharegpt", "length_scale": 0.5, "max_output_tokens": 300},
          "load": {"shape": "closed", "max_concurrency": 12, "requests": 50}})",
      "x.json");
  EXPECT_EQ(s.endpoint, ApiEndpoint::chat);
  EXPECT_EQ(s.model, "m");
  EXPECT_FALSE(s.ignore_eos);
  EXPECT_EQ(s.request_fields, R"("temperature":0,"top_p":0.5)");
  EXPECT_EQ(s.workload.type, WorkloadType::sharegpt);
  EXPECT_EQ(s.workload.seed, 9u);
  EXPECT_DOUBLE_EQ(s.workload.length_scale, 0.5);
  EXPECT_EQ(s.workload.max_output_tokens, 300);
  EXPECT_FALSE(s.workload.max_input_tokens);
  EXPECT_EQ(s.load.concurrency, (std::vector<int>{1, 2, 4, 8, 12}));
  EXPECT_DOUBLE_EQ(s.load.warmup_s, 2);
  EXPECT_EQ(s.load.requests, 50);
  EXPECT_DOUBLE_EQ(s.load.duration_s, 0);
  const PointPlan plan = s.plan(3);
  EXPECT_EQ(plan.concurrency, 8);
  EXPECT_EQ(plan.requests, 50);
  EXPECT_EQ(plan.arrival_seed, 9u);

  const Scenario open =
      parse_scenario(scenario(kWorkload, R"("load": {"shape": "poisson", "rates": [0.5, 1, 2], "duration_seconds": 10,
                                      "warmup_seconds": 0, "max_connections": 64})"),
                     "y.json");
  EXPECT_EQ(open.endpoint, ApiEndpoint::completions);
  EXPECT_EQ(open.points(), 3u);
  EXPECT_DOUBLE_EQ(open.plan(1).rate, 1);
  EXPECT_EQ(open.plan(1).max_connections, 64);
  EXPECT_DOUBLE_EQ(open.plan(1).warmup_s, 0);
}

TEST(Scenario, RepeatFractionOfRepeatedQuestions) {
  const auto workload = [](std::string_view fields) {
    return parse_scenario(scenario(fmt::format(R"("workload": {{"type": "repeated_questions", "questions": 8,
                                                  "question_tokens": 64, "output_tokens": 16{}}})",
                                               fields)),
                          "x.json")
        .workload;
  };
  EXPECT_DOUBLE_EQ(workload("").repeat_fraction, 1.0);  // every request repeats, as before the option
  EXPECT_DOUBLE_EQ(workload(R"(, "repeat_fraction": 0.5)").repeat_fraction, 0.5);
  EXPECT_DOUBLE_EQ(workload(R"(, "repeat_fraction": 0)").repeat_fraction, 0.0);
  EXPECT_EQ(workload(R"(, "repeat_fraction": 0.5)").questions, 8);
}

TEST(Scenario, ErrorsNameTheFileAndTheField) {
  EXPECT_ERROR("{", "bad.json: not valid JSON");
  EXPECT_ERROR("[1]", "must be a JSON object");
  EXPECT_ERROR(scenario(kWorkload, kLoad, R"(, "warmup": 1)"), "bad.json: warmup: not a field of a scenario");
  EXPECT_ERROR(fmt::format("{{{}}}", kLoad), "bad.json: workload: required");
  EXPECT_ERROR(scenario(kWorkload, kLoad, R"(, "endpoint": "embeddings")"),
               R"(endpoint: must be one of "completions", "chat", got "embeddings")");
  EXPECT_ERROR(scenario(kWorkload, kLoad, R"(, "request_fields": {"stream": false})"),
               "request_fields.stream: ringperf sets this field itself");
  EXPECT_ERROR(scenario(kWorkload, kLoad, R"(, "seed": -1)"), "seed: must be from 0");
}

TEST(Scenario, WorkloadErrors) {
  EXPECT_ERROR(scenario(R"("workload": {"type": "sharegtp"})"), R"(workload.type: must be one of "sharegpt")");
  EXPECT_ERROR(scenario(R"("workload": {"input_tokens": 3})"), "workload.type: required");
  EXPECT_ERROR(scenario(R"("workload": {"type": "fixed", "input_tokens": 10})"), "workload.output_tokens: required");
  EXPECT_ERROR(scenario(R"("workload": {"type": "fixed", "input_tokens": 0, "output_tokens": 5})"),
               "workload.input_tokens: must be from 1");
  EXPECT_ERROR(scenario(R"("workload": {"type": "sharegpt", "input_tokens": 10})"),
               R"(workload.input_tokens: not a field of a "sharegpt" workload (its fields: "type", "length_scale")");
  EXPECT_ERROR(scenario(R"("workload": {"type": "sharegpt", "length_scale": "big"})"),
               "workload.length_scale: must be a number");
  EXPECT_ERROR(scenario(R"("workload": {"type": "sharegpt", "length_scale": 0})"),
               "workload.length_scale: must be more than 0");
  EXPECT_ERROR(scenario(R"("workload": {"type": "repeated_questions", "question_tokens": 5, "output_tokens": 5})"),
               "workload.questions: required");
  EXPECT_ERROR(scenario(R"("workload": {"type": "repeated_questions", "questions": 4, "question_tokens": 5,
                                         "output_tokens": 5, "repeat_fraction": 1.5})"),
               "workload.repeat_fraction: must be from 0 to 1 (a share of the requests), got 1.5");
  EXPECT_ERROR(scenario(R"("workload": {"type": "repeated_questions", "questions": 4, "question_tokens": 5,
                                         "output_tokens": 5, "repeat_fraction": -0.5})"),
               "workload.repeat_fraction: must be at least 0, got -0.5");
  EXPECT_ERROR(scenario(R"("workload": {"type": "jsonl", "path": "nowhere.jsonl"})"),
               "workload.path: no such file: perf/scenarios/nowhere.jsonl");
}

TEST(Scenario, LoadErrors) {
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "closed", "concurrency": [1, 4, 2], "duration_seconds": 5})"),
               "load.concurrency[2]: the list must increase");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "closed", "concurrency": [0], "duration_seconds": 5})"),
               "load.concurrency[0]: must be from 1 to 100000, got 0");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "closed", "concurrency": [1.5], "duration_seconds": 5})"),
               "load.concurrency[0]: must be an integer");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "closed", "concurrency": [1], "max_concurrency": 4,
                                               "duration_seconds": 5})"),
               "load.concurrency: give either");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "closed", "duration_seconds": 5})"), "load.concurrency: give");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "poisson", "duration_seconds": 5})"), "load.rates: required");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "poisson", "rates": [1, -2], "duration_seconds": 5})"),
               "load.rates[1]: must be a positive number");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "poisson", "rates": [1], "concurrency": [1],
                                               "duration_seconds": 5})"),
               R"(load.concurrency: not a field of a "poisson" load)");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "closed", "concurrency": [1]})"),
               R"(load.duration_seconds: give "duration_seconds" or "requests")");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "closed", "concurrency": [1], "duration_seconds": 5,
                                               "warmup_seconds": -1})"),
               "load.warmup_seconds: must be at least 0, got -1");
  EXPECT_ERROR(scenario(kWorkload, R"("load": {"shape": "open", "rates": [1]})"), "load.shape: must be one of");
}

TEST(Scenario, AMissingFileSaysSo) {
  try {
    load_scenario("/nonexistent/ringperf.json");
    ADD_FAILURE() << "no error";
  } catch (const ScenarioError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/ringperf.json: cannot open the scenario file");
  }
}

TEST(Scenario, PromptFilePathsAreRelativeToTheScenario) {
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / fmt::format("ringperf-scenario-{}", getpid());
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "prompts.jsonl") << R"({"prompt": "hi"})"
                                          << "\n";
  const std::string path = (folder / "s.json").string();
  std::ofstream(path) << scenario(R"("workload": {"type": "jsonl", "path": "prompts.jsonl", "output_tokens": 8})");
  const Scenario s = load_scenario(path);
  EXPECT_EQ(s.workload.path, (folder / "prompts.jsonl").string());
  EXPECT_EQ(s.workload.output_tokens, 8);
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace rs::ringperf
