#include "perf/ringperf/workload.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "perf/ringperf/prompt_file.h"
#include "perf/ringperf/request_builder.h"

namespace rs::ringperf {
namespace {

size_t words(const std::string& text) {
  std::istringstream in(text);
  size_t count = 0;
  for (std::string word; in >> word;) ++count;
  return count;
}

std::vector<RequestSpec> take(Workload& workload, int n) {
  std::vector<RequestSpec> specs;
  for (int i = 0; i < n; ++i) specs.push_back(workload.next());
  return specs;
}

TEST(Workload, RestartRepeatsTheSequenceAndSeedsChangeIt) {
  WorkloadConfig config;
  config.type = WorkloadType::sharegpt;
  config.seed = 3;
  const auto workload = Workload::create(config, 1.0, false);
  const auto first = take(*workload, 20);
  workload->restart();
  const auto again = take(*workload, 20);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].user, again[i].user);
    EXPECT_EQ(first[i].max_tokens, again[i].max_tokens);
  }
  config.seed = 4;
  EXPECT_NE(Workload::create(config, 1.0, false)->next().user, first[0].user);
}

TEST(Workload, PromptLengthFollowsTokensPerWordAndCapsHold) {
  WorkloadConfig config;
  config.type = WorkloadType::fixed;
  config.input_tokens = 300;
  config.output_tokens = 17;
  const RequestSpec spec = Workload::create(config, 1.5, false)->next();
  EXPECT_EQ(words(spec.user), 200u);
  EXPECT_EQ(spec.max_tokens, 17);
  EXPECT_EQ(spec.estimated_prompt_tokens, 300);

  config.type = WorkloadType::sharegpt;
  config.max_input_tokens = 50;
  config.max_output_tokens = 20;
  const auto capped = Workload::create(config, 1.0, false);
  for (const RequestSpec& s : take(*capped, 200)) {
    EXPECT_LE(words(s.user), 50u);
    EXPECT_LE(*s.max_tokens, 20);
    EXPECT_GE(*s.max_tokens, 1);
  }
}

TEST(Workload, SharedPrefixesAndRepeatedQuestionsComeFromSmallPools) {
  WorkloadConfig config;
  config.type = WorkloadType::shared_prefix;
  config.prefixes = 3;
  config.prefix_tokens = 100;
  config.question_tokens = 10;
  config.output_tokens = 5;
  std::set<std::string> prefixes, questions;
  for (const RequestSpec& s : take(*Workload::create(config, 1.0, false), 100)) {
    prefixes.insert(s.system);
    questions.insert(s.user);
    EXPECT_EQ(words(s.system), 100u);
    EXPECT_EQ(s.estimated_prompt_tokens, 110);
  }
  EXPECT_EQ(prefixes.size(), 3u);
  EXPECT_GT(questions.size(), 90u);  // the questions are each user's own

  config.type = WorkloadType::repeated_questions;
  config.questions = 5;
  std::set<std::string> asked;
  for (const RequestSpec& s : take(*Workload::create(config, 1.0, false), 100)) asked.insert(s.user);
  EXPECT_EQ(asked.size(), 5u);
}

TEST(Workload, RepeatFractionMixesPoolQuestionsWithFreshOnes) {
  WorkloadConfig config;
  config.type = WorkloadType::repeated_questions;
  config.seed = 5;
  config.questions = 4;
  config.question_tokens = 12;
  config.output_tokens = 3;
  std::set<std::string> pool;  // every request repeats at the default of 1: the pool is what they ask
  for (const RequestSpec& s : take(*Workload::create(config, 1.0, true), 200)) pool.insert(s.user);
  ASSERT_EQ(pool.size(), 4u);

  config.repeat_fraction = 0.5;
  const auto workload = Workload::create(config, 1.0, true);
  const auto specs = take(*workload, 1000);
  int repeats = 0;
  std::set<std::string> fresh;
  for (const RequestSpec& s : specs) {
    EXPECT_EQ(words(s.user), 12u);
    EXPECT_EQ(s.max_tokens, 3);
    if (pool.contains(s.user)) {
      ++repeats;
    } else {
      EXPECT_TRUE(fresh.insert(s.user).second) << "a fresh question asked twice: " << s.user;
    }
  }
  EXPECT_GT(repeats, 450);  // binomial(1000, 0.5): 450..550 is beyond 3 standard deviations
  EXPECT_LT(repeats, 550);
  EXPECT_EQ(fresh.size(), specs.size() - size_t(repeats));

  workload->restart();  // seeded: the same sequence again
  const auto again = take(*workload, 1000);
  for (size_t i = 0; i < specs.size(); ++i) EXPECT_EQ(specs[i].user, again[i].user);

  config.repeat_fraction = 0;
  for (const RequestSpec& s : take(*Workload::create(config, 1.0, true), 100)) EXPECT_FALSE(pool.contains(s.user));
}

class PromptFile : public ::testing::Test {
 protected:
  std::string write(const std::string& contents) {
    const std::string path =
        (std::filesystem::temp_directory_path() / fmt::format("ringperf-prompts-{}.jsonl", getpid())).string();
    std::ofstream(path) << contents;
    paths_.push_back(path);
    return path;
  }
  ~PromptFile() override {
    for (const std::string& path : paths_) std::filesystem::remove(path);
  }
  std::vector<std::string> paths_;
};

TEST_F(PromptFile, LinesInOrderThenAgain) {
  WorkloadConfig config;
  config.type = WorkloadType::jsonl;
  config.path = write(R"({"prompt": "one two", "max_tokens": 4})"
                      "\n\n"
                      R"({"messages": [{"role": "user", "content": "hi"}]})"
                      "\n");
  config.output_tokens = 9;
  const auto workload = Workload::create(config, 1.0, true);
  const auto specs = take(*workload, 3);
  EXPECT_EQ(specs[0].user, "one two");
  EXPECT_EQ(specs[0].max_tokens, 4);
  EXPECT_EQ(specs[1].messages_json, R"([{"role":"user","content":"hi"}])");
  EXPECT_EQ(specs[1].max_tokens, 9);  // the scenario's default
  EXPECT_EQ(specs[2].user, "one two");
  // Chat messages need the chat endpoint.
  EXPECT_THROW(Workload::create(config, 1.0, false), std::runtime_error);
}

TEST_F(PromptFile, ErrorsNameTheLine) {
  const auto error_of = [](const std::string& path) {
    try {
      read_prompt_file(path);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string path = write("{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n");
  EXPECT_EQ(error_of(path), path + ":2: \"prompt\" must be a string");
  path = write("{\"prompt\": \"ok\"}\n\nnot json\n");
  EXPECT_EQ(error_of(path), path + ":3: not a JSON object");
  path = write("{\"max_tokens\": 3}\n");
  EXPECT_EQ(error_of(path), path + ":1: needs exactly one of \"prompt\" and \"messages\"");
  path = write("{\"prompt\": \"x\", \"max_tokens\": 0}\n");
  EXPECT_EQ(error_of(path), path + ":1: \"max_tokens\" must be an integer from 1 to 1000000");
  path = write("\n");
  EXPECT_EQ(error_of(path), path + ": no prompts in the file");
}

TEST(RequestBuilder, BodiesAskForAStreamWithUsageAndAnExactLength) {
  RequestOptions options;
  options.model = "m\"odel";
  options.extra_fields = R"("temperature":0)";
  RequestSpec spec;
  spec.system = "be brief";
  spec.user = "say \"hi\"";
  spec.max_tokens = 12;

  simdjson::dom::parser parser;
  const std::string completion = build_request_body(options, spec);
  simdjson::dom::element body = parser.parse(completion);
  EXPECT_EQ(std::string_view(body["model"]), "m\"odel");
  EXPECT_EQ(std::string_view(body["prompt"]), "be brief\n\nsay \"hi\"");  // the shared prefix first
  EXPECT_EQ(int64_t(body["max_tokens"]), 12);
  EXPECT_TRUE(bool(body["ignore_eos"]));
  EXPECT_TRUE(bool(body["stream"]));
  EXPECT_TRUE(bool(body["stream_options"]["include_usage"]));
  EXPECT_EQ(int64_t(body["temperature"]), 0);

  options.endpoint = ApiEndpoint::chat;
  options.model.clear();
  options.ignore_eos = false;
  const std::string chat = build_request_body(options, spec);
  body = parser.parse(chat);
  EXPECT_TRUE(body["model"].error());
  EXPECT_TRUE(body["ignore_eos"].error());
  EXPECT_EQ(std::string_view(body["messages"].at(0)["role"]), "system");
  EXPECT_EQ(std::string_view(body["messages"].at(1)["content"]), "say \"hi\"");

  spec.max_tokens.reset();  // no length to enforce: no ignore_eos either, or the answer would run to the context's end
  options.ignore_eos = true;
  body = parser.parse(build_request_body(options, spec));
  EXPECT_TRUE(body["max_tokens"].error());
  EXPECT_TRUE(body["ignore_eos"].error());
}

}  // namespace
}  // namespace rs::ringperf
