#include "perf/ringperf/progress_line.h"

#include <unistd.h>

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "perf/ringperf/analysis.h"
#include "perf/ringperf/clock.h"
#include "perf/ringperf/statistics.h"

namespace rs::ringperf {
namespace {

// A terminal line is redrawn this often; a log gets a line this often.
constexpr int64_t kTtyIntervalNs = 250'000'000;
constexpr int64_t kPlainIntervalNs = 10'000'000'000;

std::string milliseconds(double ms) { return std::isnan(ms) ? "–" : fmt::format("{:.1f} ms", ms); }

}  // namespace

ProgressLine::ProgressLine(std::FILE* out, bool enabled)
    : out_(out), enabled_(enabled), tty_(isatty(fileno(out)) != 0) {}

void ProgressLine::clear() {
  if (tty_ && shown_width_ > 0) fmt::print(out_, "\r{:{}}\r", "", shown_width_);
  shown_width_ = 0;
}

void ProgressLine::update(size_t point, size_t points, const PointProgress& progress) {
  if (!enabled_) return;
  const int64_t now = now_ns();
  if (now - last_print_ns_ < (tty_ ? kTtyIntervalNs : kPlainIntervalNs)) return;
  last_print_ns_ = now;

  const PointPlan& plan = progress.plan;
  std::string phase;
  if (progress.warming_up) {
    phase = fmt::format("warming up {:.0f}/{:g} s", progress.elapsed_s, plan.warmup_s);
  } else if (plan.duration_s > 0) {
    phase = fmt::format("measuring {:.0f}/{:g} s", progress.elapsed_s - plan.warmup_s, plan.duration_s);
  } else {
    phase = fmt::format("measuring {}/{} requests", progress.measured.size(), plan.requests);
  }
  std::string line = fmt::format("[{}/{}] {} · {}", point + 1, points, describe_load(plan), phase);
  if (!progress.warming_up) {
    const double window_s = std::max(1e-9, progress.elapsed_s - plan.warmup_s);
    std::vector<double> ttft, ntpot;
    int64_t ok = 0, failed = 0, tokens = 0;
    for (const RequestRecord& request : progress.measured) {
      if (!request.ok()) {
        ++failed;
        continue;
      }
      ++ok;
      tokens += request.output_tokens;
      ttft.push_back(request.ttft_ms());
      ntpot.push_back(request.ntpot_ms());
    }
    line += fmt::format(" · {} ok {} failed · {:.0f} out tok/s · TTFT p50 {} · NTPOT p50 {}", ok, failed,
                        static_cast<double>(tokens) / window_s, milliseconds(summarize(ttft).p50),
                        milliseconds(summarize(ntpot).p50));
  }
  line += fmt::format(" · in flight {} · ringperf CPU {:.0f}%", progress.in_flight, progress.client_cpu * 100);
  if (progress.client_cpu > kClientCpuWarning) line += " (near a full core!)";
  if (tty_) {
    clear();
    fmt::print(out_, "{}", line);
    shown_width_ = line.size();
  } else {
    fmt::print(out_, "{}\n", line);
  }
  std::fflush(out_);
}

void ProgressLine::point_done(size_t point, size_t points, const PointResult& r) {
  clear();
  fmt::print(out_,
             "[{}/{}] {}: {} ok, {} failed, {:.2f} req/s, {:.0f} out tok/s, TTFT p50 {}, NTPOT p50 {}, "
             "ringperf CPU {:.0f}%\n",
             point + 1, points, describe_load(r.plan), r.succeeded, r.failed, r.requests_per_s, r.output_tokens_per_s,
             milliseconds(r.ttft.p50), milliseconds(r.ntpot.p50), r.client_cpu * 100);
  std::fflush(out_);
  last_print_ns_ = 0;
}

}  // namespace rs::ringperf
