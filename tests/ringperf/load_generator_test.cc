// ringperf against the scripted fake server. The server and the load generator
// share a ScriptedClock, so what ringperf measures must be exactly what the
// server was scripted to do, on an idle machine or a busy one; a unit mistake,
// a token too few, the wrong start for TTFT or a window edge off by one shows
// as a wrong number, not as noise. Tests of the protocol alone, which assert
// no times, run on TCP in real time.
#include "perf/ringperf/load_generator.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "perf/ringperf/clock.h"
#include "perf/ringperf/point_result.h"
#include "perf/ringperf/poisson_arrivals.h"
#include "tests/ringperf/fake_openai_server.h"
#include "tests/ringperf/scripted_clock.h"

namespace rs::ringperf {
namespace {

using test::FakeOpenAiServer;
using test::FakeScript;
using test::ScriptedClock;

constexpr double kRounding = 1e-9;  // exact figures, but for floating-point rounding
// What the load generator reads of its CPU time on the scripted clock.
constexpr double kScriptedCpu = 1.0 / ScriptedClock::kCpuShare;
// The CPU time is read at the first turn of the loop inside the window, up to two clock steps after its start.
constexpr double kCpuSlack = 0.002;

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

WorkloadConfig fixed_workload(int64_t output_tokens) {
  WorkloadConfig config;
  config.type = WorkloadType::fixed;
  config.input_tokens = 5;
  config.output_tokens = output_tokens;
  return config;
}

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

PointMeasurements run(const ServerUrl& server, Clock& clock, const PointPlan& plan, const WorkloadConfig& config,
                      ApiEndpoint endpoint = ApiEndpoint::completions) {
  RequestOptions options;
  options.endpoint = endpoint;
  LoadGenerator generator(server, options, clock);
  const auto workload = Workload::create(config, 1.0, endpoint == ApiEndpoint::chat);
  return generator.run(plan, *workload);
}

// The fake server and the load generator on one scripted clock.
struct Scripted {
  explicit Scripted(FakeScript script = {}) : server(script, &clock) {}
  PointMeasurements run(const PointPlan& plan, const WorkloadConfig& config,
                        ApiEndpoint endpoint = ApiEndpoint::completions) {
    return ringperf::run(server.address(), clock, plan, config, endpoint);
  }

  ScriptedClock clock;
  FakeOpenAiServer server;
};

TEST(LoadGenerator, MeasuresTheScriptedTimetableAndItsPercentiles) {
  Scripted scripted;
  // One request at a time, TTFT 10, 20, … 100 ms, then 3 more tokens 5 ms apart.
  std::vector<std::string> lines;
  for (int k = 1; k <= 10; ++k) lines.push_back(fmt::format("ttft_ms={} itl_ms=5 tokens=4 some words", 10 * k));
  const PromptLines prompts(lines);
  const PointPlan plan = closed_plan(1, 10);
  const PointMeasurements measured = scripted.run(plan, prompts.config());

  ASSERT_EQ(measured.requests.size(), 10u);
  for (size_t i = 0; i < measured.requests.size(); ++i) {
    const RequestRecord& r = measured.requests[i];
    ASSERT_TRUE(r.ok()) << r.error_detail;
    EXPECT_EQ(r.sequence, i);
    EXPECT_TRUE(r.usage_reported);
    EXPECT_EQ(r.output_tokens, 4);
    EXPECT_EQ(r.prompt_tokens, 5);  // the fake counts words
    EXPECT_DOUBLE_EQ(r.ttft_ms(), 10.0 * static_cast<double>(i + 1));
    EXPECT_DOUBLE_EQ(r.e2e_ms(), 10.0 * static_cast<double>(i + 1) + 15);
    EXPECT_EQ(r.itl_ms, (std::vector<float>{5, 5, 5}));
    EXPECT_DOUBLE_EQ(r.tpot_ms(), 5);
    EXPECT_EQ(r.issued_ns, r.sent_ns);
    if (i > 0) {
      EXPECT_EQ(r.sent_ns, measured.requests[i - 1].done_ns);  // the user asks again as the answer ends
    }
  }
  const PointResult result = summarize_point(plan, measured);
  EXPECT_EQ(result.succeeded, 10);
  EXPECT_EQ(result.failed, 0);
  EXPECT_EQ(result.unfinished, 0);
  // Sorted TTFTs 10…100: p50 at rank 4.5 → 55, p90 at 8.1 → 91, p99 at 8.91 → 99.1.
  EXPECT_NEAR(result.ttft.p50, 55, kRounding);
  EXPECT_NEAR(result.ttft.p90, 91, kRounding);
  EXPECT_NEAR(result.ttft.p99, 99.1, kRounding);
  EXPECT_NEAR(result.e2e.p50, 70, kRounding);
  // NTPOT = e2e / 4 tokens: (55 + 15) / 4 = 17.5 and (91 + 15) / 4 = 26.5.
  EXPECT_NEAR(result.ntpot.p50, 17.5, kRounding);
  EXPECT_NEAR(result.ntpot.p90, 26.5, kRounding);
  EXPECT_DOUBLE_EQ(result.tpot.max, 5);
  EXPECT_DOUBLE_EQ(result.itl.max, 5);
  EXPECT_EQ(result.itl.count, 30u);
  EXPECT_DOUBLE_EQ(result.mean_output_tokens, 4);
  EXPECT_DOUBLE_EQ(result.mean_in_flight, 1);
  EXPECT_EQ(result.max_in_flight, 1);
  EXPECT_NEAR(result.client_cpu, kScriptedCpu, kCpuSlack);
  // The window closed with the tenth request: 10 requests over their 550 + 10 × 15 ms.
  EXPECT_DOUBLE_EQ(result.window_s, 0.7);
  EXPECT_DOUBLE_EQ(result.requests_per_s, 10 / 0.7);
}

TEST(LoadGenerator, ChatTtftWaitsForTheFirstContentNotTheRoleChunk) {
  Scripted scripted(FakeScript{.head_ms = 10, .ttft_ms = 30, .itl_ms = 5});
  const PointMeasurements measured = scripted.run(closed_plan(2, 6), fixed_workload(3), ApiEndpoint::chat);
  const PointResult result = summarize_point(closed_plan(2, 6), measured);
  EXPECT_EQ(result.succeeded, 6);
  // The headers and the role chunk come 10 ms after the request was written, the first content 30 ms after it:
  // every TTFT is 30 ms, counted from the write.
  EXPECT_DOUBLE_EQ(result.ttft.mean, 30);
  EXPECT_DOUBLE_EQ(result.ttft.max, 30);
  EXPECT_DOUBLE_EQ(result.tpot.max, 5);
  EXPECT_NEAR(result.ntpot.max, 40.0 / 3, kRounding);
}

TEST(LoadGenerator, ClosedLoopKeepsEveryUserBusy) {
  Scripted scripted;  // 20 ms TTFT + 9 × 5 ms: 65 ms for 10 tokens
  PointPlan plan = closed_plan(4, 0, 1.0);
  plan.warmup_s = 0.2;
  const PointResult result = summarize_point(plan, scripted.run(plan, fixed_workload(10)));
  // Every user's requests end at 65, 130, … ms; the window [200, 1200) ms holds those ending at 260 … 1170.
  EXPECT_DOUBLE_EQ(result.window_s, 1.0);
  EXPECT_EQ(result.succeeded, 4 * 15);
  EXPECT_EQ(result.unfinished, 4);  // the ones started at 1170
  EXPECT_DOUBLE_EQ(result.output_tokens_per_s, 4 * 15 * 10);
  EXPECT_DOUBLE_EQ(result.mean_in_flight, 4);
  EXPECT_EQ(result.max_in_flight, 4);
  EXPECT_DOUBLE_EQ(result.ttft.max, 20);
  EXPECT_DOUBLE_EQ(result.e2e.max, 65);
  // CPU over the window, not since the warm-up began (that would read 0.25 × 1.2).
  EXPECT_NEAR(result.client_cpu, kScriptedCpu, kCpuSlack);
}

TEST(LoadGenerator, TheWindowTakesRequestsEndingAtItsStartNotAtItsEnd) {
  Scripted scripted;  // 20 ms TTFT + 6 × 5 ms: 50 ms for 7 tokens
  PointPlan plan = closed_plan(1, 0, 0.2);
  plan.warmup_s = 0.1;
  const PointMeasurements measured = scripted.run(plan, fixed_workload(7));
  // Requests end at 50, 100, … ms; the window [100, 300) ms takes 100, 150, 200 and 250.
  ASSERT_EQ(measured.requests.size(), 4u);
  EXPECT_EQ(measured.requests.front().done_ns, measured.window_start_ns);
  EXPECT_EQ(measured.requests.back().done_ns, measured.window_start_ns + 150 * kNsPerMs);
  EXPECT_EQ(measured.unfinished, 1);  // the one ending at 300
  const PointResult result = summarize_point(plan, measured);
  EXPECT_DOUBLE_EQ(result.window_s, 0.2);
  EXPECT_DOUBLE_EQ(result.output_tokens_per_s, 4 * 7 / 0.2);
}

TEST(LoadGenerator, ErrorsAreCountedByKind) {
  Scripted scripted;
  const PromptLines prompts({"fine tokens=2", "status=429", "status=404", "status=503", "malformed tokens=2",
                             "disconnect tokens=3", "hang", "no_usage tokens=3"});
  PointPlan plan = closed_plan(1, 8);
  plan.request_timeout_s = 0.3;
  const PointMeasurements measured = scripted.run(plan, prompts.config());
  const PointResult result = summarize_point(plan, measured);
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
  // Timeouts are checked every 100 ms: the hung request ends at the first check 300 ms or more after it was issued.
  const auto hung = std::find_if(measured.requests.begin(), measured.requests.end(),
                                 [](const RequestRecord& r) { return r.error == ErrorKind::timeout; });
  ASSERT_NE(hung, measured.requests.end());
  EXPECT_GE(hung->done_ns - hung->issued_ns, 300 * kNsPerMs);
  EXPECT_LT(hung->done_ns - hung->issued_ns, 400 * kNsPerMs);
}

TEST(LoadGenerator, AKeptAliveConnectionTheServerClosedIsReopenedNotCountedAsAnError) {
  FakeOpenAiServer server;  // TCP, real time: the close races the next request as it would with a real server
  const PromptLines prompts({"close_after tokens=2", "tokens=2"});
  const PointPlan plan = closed_plan(1, 6);
  const PointResult result = summarize_point(plan, run(server.address(), system_clock(), plan, prompts.config()));
  EXPECT_EQ(result.succeeded, 6);
  EXPECT_EQ(result.failed, 0) << result.error_example[static_cast<size_t>(ErrorKind::disconnected)];
}

TEST(LoadGenerator, NothingListeningOnTcpIsAConnectError) {
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &length);
  close(probe);  // the port is free and nothing listens on it

  const ServerUrl server = parse_server_url(fmt::format("http://127.0.0.1:{}", ntohs(addr.sin_port)));
  const PointPlan plan = closed_plan(2, 4);  // ends with the fourth failure, however long that takes
  const PointResult result = summarize_point(plan, run(server, system_clock(), plan, fixed_workload(3)));
  EXPECT_EQ(result.succeeded, 0);
  EXPECT_EQ(result.failed, 4);
  EXPECT_EQ(result.errors[static_cast<size_t>(ErrorKind::connect)], 4);
}

TEST(LoadGenerator, AUserWhoseConnectFailedPausesBeforeTheNext) {
  ScriptedClock clock;
  const std::string nowhere =
      (std::filesystem::temp_directory_path() / fmt::format("ringperf-nowhere-{}.sock", getpid())).string();
  const PointPlan plan = closed_plan(2, 0, 0.3);
  const PointResult result = summarize_point(plan, run(test::unix_server_url(nowhere), clock, plan, fixed_workload(3)));
  // Users pause 50 ms after a failure: each tries at 0, 50, … 250 ms of the 300 ms window.
  EXPECT_EQ(result.succeeded, 0);
  EXPECT_EQ(result.failed, 2 * 6);
  EXPECT_EQ(result.errors[static_cast<size_t>(ErrorKind::connect)], result.failed);
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

// Request-nanoseconds of [from, from + length) inside [start, end).
int64_t overlap_ns(int64_t from, int64_t length, int64_t start, int64_t end) {
  return std::max<int64_t>(0, std::min(from + length, end) - std::max(from, start));
}

TEST(LoadGenerator, OpenLoopSendsAtTheScriptedArrivalsWhateverTheServerDoes) {
  Scripted scripted;  // 65 ms a request
  PointPlan plan;
  plan.shape = LoadShape::poisson;
  plan.rate = 40;
  plan.warmup_s = 0.2;
  plan.duration_s = 1.5;
  plan.arrival_seed = 5;
  const PointMeasurements measured = scripted.run(plan, fixed_workload(10));

  // The arrivals the load generator drew: the same seed gives the same gaps.
  const int64_t start = measured.window_start_ns - 200 * kNsPerMs, end = measured.window_start_ns + 1500 * kNsPerMs;
  std::vector<int64_t> arrivals;
  PoissonArrivals gaps(plan.rate, plan.arrival_seed);
  for (int64_t at = start + gaps.next_gap_ns(); at < end; at += gaps.next_gap_ns()) arrivals.push_back(at);

  // Each request is issued at its arrival and written at the loop's next turn, within two clock steps.
  constexpr int64_t kLate = 2 * ScriptedClock::kStepNs;
  ASSERT_GT(measured.requests.size(), 40u);  // about 40 × 1.5 = 60
  for (size_t i = 0; i < measured.requests.size(); ++i) {
    const RequestRecord& r = measured.requests[i];
    ASSERT_TRUE(r.ok()) << r.error_detail;
    ASSERT_LT(r.sequence, arrivals.size());
    EXPECT_EQ(r.issued_ns, arrivals[r.sequence]);
    EXPECT_GE(r.sent_ns, r.issued_ns);
    EXPECT_LT(r.sent_ns, r.issued_ns + kLate);
    EXPECT_DOUBLE_EQ(r.ttft_ms(), 20);
    EXPECT_DOUBLE_EQ(r.e2e_ms(), 65);
    if (i > 0) {
      EXPECT_EQ(r.sequence, measured.requests[i - 1].sequence + 1);  // none lost in between
    }
  }
  // The arrivals just outside those measured could not have ended in the window.
  const uint64_t first = measured.requests.front().sequence, last = measured.requests.back().sequence;
  if (first > 0) {
    EXPECT_LT(arrivals[first - 1] + 65 * kNsPerMs, measured.window_start_ns);
  }
  if (last + 1 < arrivals.size()) {
    EXPECT_GE(arrivals[last + 1] + 65 * kNsPerMs + kLate, end);
  }

  // In flight: each request for its 65 ms, which start within kLate of its arrival; that moves the mean only
  // through requests that cross the window's edges.
  int64_t in_flight_ns = 0, crossing = 0;
  for (const int64_t at : arrivals) {
    in_flight_ns += overlap_ns(at, 65 * kNsPerMs, measured.window_start_ns, end);
    const bool inside = at >= measured.window_start_ns && at + 65 * kNsPerMs + kLate <= end;
    const bool outside = at + 65 * kNsPerMs + kLate <= measured.window_start_ns;
    if (!inside && !outside) ++crossing;
  }
  const PointResult result = summarize_point(plan, measured);
  EXPECT_NEAR(result.mean_in_flight, static_cast<double>(in_flight_ns) / (1500.0 * kNsPerMs),
              static_cast<double>(crossing * kLate) / (1500.0 * kNsPerMs));
  EXPECT_EQ(result.failed, 0);
}

}  // namespace
}  // namespace rs::ringperf
