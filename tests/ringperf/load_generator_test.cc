// ringperf against the scripted fake server: what it measures must be what
// the server was scripted to do, within timer resolution and scheduling
// jitter (kSlackMs: ctest runs other tests beside these on a 2-core machine,
// which delays wake-ups by a few ms); a unit mistake would be off by 1000×.
#include "perf/ringperf/load_generator.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "perf/ringperf/point_result.h"
#include "perf/ringperf/poisson_arrivals.h"
#include "tests/ringperf/fake_openai_server.h"

namespace rs::ringperf {
namespace {

using test::FakeOpenAiServer;
using test::FakeScript;

constexpr double kSlackMs = 8;       // for times measured once (TTFT, e2e)
constexpr double kTokenSlackMs = 3;  // for per-token figures, where a late wake-up is shared by several tokens

// A prompt file with `lines`, removed with the object.
class PromptLines {
 public:
  explicit PromptLines(const std::vector<std::string>& lines)
      : path_((std::filesystem::temp_directory_path() / fmt::format("ringperf-lines-{}-{}.jsonl", getpid(), counter_++))
                  .string()) {
    std::ofstream out(path_);
    for (const std::string& line : lines) out << fmt::format(R"({{"prompt": "{}"}})", line) << '\n';
  }
  ~PromptLines() { std::filesystem::remove(path_); }
  WorkloadConfig config() const {
    WorkloadConfig config;
    config.type = WorkloadType::jsonl;
    config.path = path_;
    return config;
  }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

PointPlan closed_plan(int users, int64_t requests, double duration_s = 0) {
  PointPlan plan;
  plan.shape = LoadShape::closed;
  plan.concurrency = users;
  plan.warmup_s = 0;
  plan.requests = requests;
  plan.duration_s = duration_s;
  plan.request_timeout_s = 10;
  return plan;
}

PointMeasurements run(const FakeOpenAiServer& server, const PointPlan& plan, const WorkloadConfig& config,
                      ApiEndpoint endpoint = ApiEndpoint::completions) {
  RequestOptions options;
  options.endpoint = endpoint;
  LoadGenerator generator(parse_server_url(server.url()), options);
  const auto workload = Workload::create(config, 1.0, endpoint == ApiEndpoint::chat);
  return generator.run(plan, *workload);
}

TEST(LoadGenerator, MeasuresTheScriptedTimetableAndItsPercentiles) {
  FakeOpenAiServer server;
  // One request at a time, TTFT 10, 20, … 100 ms, then 3 more tokens 5 ms apart.
  std::vector<std::string> lines;
  for (int k = 1; k <= 10; ++k) lines.push_back(fmt::format("ttft_ms={} itl_ms=5 tokens=4 some words", 10 * k));
  const PromptLines prompts(lines);
  const PointPlan plan = closed_plan(1, 10);
  const PointMeasurements measured = run(server, plan, prompts.config());

  ASSERT_EQ(measured.requests.size(), 10u);
  for (size_t i = 0; i < measured.requests.size(); ++i) {
    const RequestRecord& r = measured.requests[i];
    ASSERT_TRUE(r.ok()) << r.error_detail;
    EXPECT_EQ(r.sequence, i);
    EXPECT_TRUE(r.usage_reported);
    EXPECT_EQ(r.output_tokens, 4);
    EXPECT_EQ(r.prompt_tokens, 5);  // the fake counts words
    EXPECT_NEAR(r.ttft_ms(), 10.0 * static_cast<double>(i + 1), kSlackMs);
    EXPECT_NEAR(r.e2e_ms(), 10.0 * static_cast<double>(i + 1) + 15, kSlackMs);
  }
  const PointResult result = summarize_point(plan, measured);
  EXPECT_EQ(result.succeeded, 10);
  EXPECT_EQ(result.failed, 0);
  EXPECT_EQ(result.unfinished, 0);
  // Sorted TTFTs 10…100: p50 at rank 4.5 → 55, p90 at 8.1 → 91, p99 at 8.91 → 99.1.
  EXPECT_NEAR(result.ttft.p50, 55, kSlackMs);
  EXPECT_NEAR(result.ttft.p90, 91, kSlackMs);
  EXPECT_NEAR(result.ttft.p99, 99.1, kSlackMs);
  EXPECT_NEAR(result.e2e.p50, 70, kSlackMs);
  // NTPOT = e2e / 4 tokens: (55 + 15) / 4 = 17.5 and (91 + 15) / 4 = 26.5.
  EXPECT_NEAR(result.ntpot.p50, 17.5, kTokenSlackMs);
  EXPECT_NEAR(result.ntpot.p90, 26.5, kTokenSlackMs);
  EXPECT_NEAR(result.tpot.p50, 5, kTokenSlackMs);
  EXPECT_NEAR(result.itl.p50, 5, kTokenSlackMs);
  EXPECT_EQ(result.itl.count, 30u);
  EXPECT_DOUBLE_EQ(result.mean_output_tokens, 4);
  EXPECT_NEAR(result.mean_in_flight, 1, 0.05);
  EXPECT_EQ(result.max_in_flight, 1);
  EXPECT_LT(result.client_cpu, 0.5);
  // The window closed with the tenth request: 10 requests over their total time.
  EXPECT_NEAR(result.requests_per_s, 10 / (0.55 + 0.15), 10 / 0.7 * 0.1);
}

TEST(LoadGenerator, ChatTtftWaitsForTheFirstContentNotTheRoleChunk) {
  FakeOpenAiServer server(FakeScript{.ttft_ms = 30, .itl_ms = 5});
  WorkloadConfig config;
  config.type = WorkloadType::fixed;
  config.input_tokens = 5;
  config.output_tokens = 3;
  const PointResult result =
      summarize_point(closed_plan(2, 6), run(server, closed_plan(2, 6), config, ApiEndpoint::chat));
  EXPECT_EQ(result.succeeded, 6);
  EXPECT_NEAR(result.ttft.p50, 30, kSlackMs);
  EXPECT_NEAR(result.tpot.p50, 5, kTokenSlackMs);
  EXPECT_NEAR(result.ntpot.p50, 40.0 / 3, kTokenSlackMs);
}

TEST(LoadGenerator, ClosedLoopKeepsEveryUserBusy) {
  FakeOpenAiServer server;  // 20 ms TTFT + 9 × 5 ms: 65 ms for 10 tokens
  WorkloadConfig config;
  config.type = WorkloadType::fixed;
  config.input_tokens = 5;
  config.output_tokens = 10;
  PointPlan plan = closed_plan(4, 0, 1.0);
  plan.warmup_s = 0.2;
  const PointResult result = summarize_point(plan, run(server, plan, config));
  EXPECT_NEAR(result.window_s, 1.0, 0.01);
  EXPECT_NEAR(result.mean_in_flight, 4, 0.2);
  EXPECT_EQ(result.max_in_flight, 4);
  EXPECT_LE(result.unfinished, 4);
  // 4 users × 10 tokens per 65 ms ≈ 615 tokens/s.
  EXPECT_NEAR(result.output_tokens_per_s, 4 * 10 / 0.065, 4 * 10 / 0.065 * 0.15);
  EXPECT_NEAR(result.ttft.p50, 20, kSlackMs);
}

TEST(LoadGenerator, ErrorsAreCountedByKind) {
  FakeOpenAiServer server;
  const PromptLines prompts({"fine tokens=2", "status=429", "status=404", "status=503", "malformed tokens=2",
                             "disconnect tokens=3", "hang", "no_usage tokens=3"});
  PointPlan plan = closed_plan(1, 8);
  plan.request_timeout_s = 0.3;
  const PointResult result = summarize_point(plan, run(server, plan, prompts.config()));
  const auto errors = [&](ErrorKind kind) { return result.errors[static_cast<size_t>(kind)]; };
  EXPECT_EQ(result.succeeded, 2);
  EXPECT_EQ(result.failed, 6);
  EXPECT_EQ(errors(ErrorKind::http_429), 1);
  EXPECT_EQ(errors(ErrorKind::http_4xx), 1);
  EXPECT_EQ(errors(ErrorKind::http_5xx), 1);
  EXPECT_EQ(errors(ErrorKind::malformed), 1);
  EXPECT_EQ(errors(ErrorKind::disconnected), 1);
  EXPECT_EQ(errors(ErrorKind::timeout), 1);
  EXPECT_EQ(result.error_example[static_cast<size_t>(ErrorKind::http_429)], "HTTP 429: scripted 429");
  EXPECT_EQ(result.usage_missing, 1);  // no_usage: its 3 chunks stand in for the count
  EXPECT_DOUBLE_EQ(result.mean_output_tokens, 2.5);
}

TEST(LoadGenerator, AKeptAliveConnectionTheServerClosedIsReopenedNotCountedAsAnError) {
  FakeOpenAiServer server;
  const PromptLines prompts({"close_after tokens=2", "tokens=2"});
  const PointResult result = summarize_point(closed_plan(1, 6), run(server, closed_plan(1, 6), prompts.config()));
  EXPECT_EQ(result.succeeded, 6);
  EXPECT_EQ(result.failed, 0) << result.error_example[static_cast<size_t>(ErrorKind::disconnected)];
}

TEST(LoadGenerator, NothingListeningIsAConnectError) {
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &length);
  close(probe);  // the port is free and nothing listens on it

  WorkloadConfig config;
  config.type = WorkloadType::fixed;
  config.input_tokens = 5;
  config.output_tokens = 3;
  LoadGenerator generator(parse_server_url(fmt::format("http://127.0.0.1:{}", ntohs(addr.sin_port))), {});
  const auto workload = Workload::create(config, 1.0, false);
  const PointResult result = summarize_point(closed_plan(2, 0, 0.3), generator.run(closed_plan(2, 0, 0.3), *workload));
  EXPECT_EQ(result.succeeded, 0);
  EXPECT_GE(result.failed, 2);
  EXPECT_EQ(result.errors[static_cast<size_t>(ErrorKind::connect)], result.failed);
  // Users pause 50 ms after a failure: 2 users over 0.3 s make a dozen attempts, not thousands.
  EXPECT_LE(result.failed, 20);
}

TEST(PoissonArrivals, GapsAreExponentialAndScaleWithTheRate) {
  PoissonArrivals slow(1.0, 11), fast(2.0, 11);
  double total_ns = 0;
  constexpr int kDraws = 100'000;
  for (int i = 0; i < kDraws; ++i) {
    const int64_t gap = slow.next_gap_ns();
    EXPECT_NEAR(static_cast<double>(fast.next_gap_ns()), static_cast<double>(gap) / 2, 1);
    total_ns += static_cast<double>(gap);
  }
  EXPECT_NEAR(total_ns / kDraws, 1e9, 1e9 * 0.01);
}

TEST(LoadGenerator, OpenLoopSendsAtTheRateWhateverTheServerDoes) {
  FakeOpenAiServer server;  // 65 ms a request
  WorkloadConfig config;
  config.type = WorkloadType::fixed;
  config.input_tokens = 5;
  config.output_tokens = 10;
  PointPlan plan;
  plan.shape = LoadShape::poisson;
  plan.rate = 40;
  plan.warmup_s = 0.2;
  plan.duration_s = 1.5;
  plan.arrival_seed = 5;
  const PointResult result = summarize_point(plan, run(server, plan, config));
  // About 40 × 1.5 = 60 requests (a Poisson count: ±4 sd is ±31).
  EXPECT_GE(result.succeeded, 30);
  EXPECT_LE(result.succeeded, 95);
  EXPECT_EQ(result.failed, 0);
  // Little's law: 40 req/s × 0.065 s = 2.6 in flight on average.
  EXPECT_NEAR(result.mean_in_flight, 2.6, 1.3);
  EXPECT_NEAR(result.ttft.p50, 20, kSlackMs);
}

}  // namespace
}  // namespace rs::ringperf
