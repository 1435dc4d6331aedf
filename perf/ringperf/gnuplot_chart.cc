#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "perf/ringperf/outputs.h"

namespace rs::ringperf {
namespace {

constexpr std::string_view kData = "latency-throughput.dat";
constexpr std::string_view kScript = "latency-throughput.gp";
constexpr std::string_view kImage = "latency-throughput.png";

std::string cell(double value) { return std::isfinite(value) ? fmt::format("{:.6g}", value) : "NaN"; }

// A point's short label on the chart: "c=8" or "4/s".
std::string short_label(const PointPlan& plan) {
  return plan.shape == LoadShape::closed ? fmt::format("c={}", plan.concurrency) : fmt::format("{:g}/s", plan.rate);
}

std::string data_file(const RunResults& r) {
  std::string out = "# output_tokens_per_s\tntpot_p50_ms\tttft_p50_ms\tntpot_p90_ms\tttft_p90_ms\tlabel\n";
  for (const PointResult& p : r.points) {
    fmt::format_to(std::back_inserter(out), "{}\t{}\t{}\t{}\t{}\t{}\n", cell(p.output_tokens_per_s), cell(p.ntpot.p50),
                   cell(p.ttft.p50), cell(p.ntpot.p90), cell(p.ttft.p90), short_label(p.plan));
  }
  return out;
}

std::string script(const RunResults& r) {
  std::string out = fmt::format(
      "# ringperf's latency-throughput chart. Render it with: gnuplot {}  (in this folder)\n"
      "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {{\n"
      "  set terminal pngcairo size 1100,650 font \",10\"\n"
      "}} else {{\n"
      "  set terminal png size 1100,650\n"
      "}}\n"
      "set output \"{}\"\n"
      "set title \"{} — {}{}\" noenhanced\n"
      "set xlabel \"output tokens/s\"\n"
      "set ylabel \"NTPOT (ms per output token)\"\n"
      "set y2label \"TTFT (ms)\"\n"
      "set ytics nomirror\n"
      "set y2tics\n"
      "set yrange [0:*]\n"
      "set y2range [0:*]\n"
      "set grid\n"
      "set key below horizontal\n"
      "set datafile separator \"\\t\"\n"
      "set datafile missing \"NaN\"\n",
      kScript, kImage, r.scenario.name, r.url, r.model.empty() ? "" : fmt::format(" ({})", r.model));
  if (r.inflection) {
    const PointResult& knee = r.points[r.inflection->index];
    fmt::format_to(std::back_inserter(out),
                   "set arrow from {0}, graph 0 to {0}, graph 1 nohead dashtype 2 linewidth 1.5 linecolor rgb "
                   "\"#cc0000\"\n"
                   "set label \"inflection: {1}\" at {0}, graph 0.97 offset 1,0 textcolor rgb \"#cc0000\"\n",
                   cell(knee.output_tokens_per_s), describe_load(knee.plan));
  }
  if (r.targets.ntpot_ms) {
    fmt::format_to(std::back_inserter(out),
                   "set arrow from graph 0, first {0} to graph 1, first {0} nohead dashtype 3 linecolor rgb "
                   "\"#2060c0\"\n"
                   "set label \"NTPOT target\" at graph 0.99, first {0} right offset 0,0.7 textcolor rgb \"#2060c0\"\n",
                   *r.targets.ntpot_ms);
  }
  fmt::format_to(std::back_inserter(out),
                 "plot \"{0}\" using 1:2 axes x1y1 with linespoints pointtype 7 linecolor rgb \"#2060c0\" "
                 "title \"NTPOT p50\", \\\n"
                 "     \"{0}\" using 1:4 axes x1y1 with linespoints pointtype 6 dashtype 2 linecolor rgb \"#2060c0\" "
                 "title \"NTPOT p90\", \\\n"
                 "     \"{0}\" using 1:3 axes x1y2 with linespoints pointtype 5 linecolor rgb \"#e07000\" "
                 "title \"TTFT p50\", \\\n"
                 "     \"{0}\" using 1:5 axes x1y2 with linespoints pointtype 4 dashtype 2 linecolor rgb \"#e07000\" "
                 "title \"TTFT p90\", \\\n"
                 "     \"{0}\" using 1:2:6 axes x1y1 with labels offset 0,1 notitle\n",
                 kData);
  return out;
}

// Runs gnuplot on the script in `directory`; its exit status, 127 when it is not installed.
int run_gnuplot(const std::string& directory) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, directory.c_str());  // the script names its files relatively
  std::string program = "gnuplot", script_name(kScript);
  char* argv[] = {program.data(), script_name.data(), nullptr};
  pid_t child;
  const int rc = posix_spawnp(&child, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return rc == ENOENT ? 127 : -1;
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

ChartOutcome write_chart(const RunResults& r, const std::string& directory) {
  OutputFile(fmt::format("{}/{}", directory, kData)).write(data_file(r));
  OutputFile(fmt::format("{}/{}", directory, kScript)).write(script(r));
  ChartOutcome outcome;
  const bool any_throughput = std::any_of(r.points.begin(), r.points.end(), [](const PointResult& p) {
    return std::isfinite(p.ntpot.p50) && p.output_tokens_per_s > 0;
  });
  if (!any_throughput) {
    outcome.note = "no point finished a request: nothing to plot";
    return outcome;
  }
  const int status = run_gnuplot(directory);
  const std::string by_hand = fmt::format("render it with `cd {} && gnuplot {}`", directory, kScript);
  if (status == 0 && access(fmt::format("{}/{}", directory, kImage).c_str(), R_OK) == 0) {
    outcome.png_written = true;
    outcome.note = fmt::format("{} drawn by gnuplot from {} and {}", kImage, kScript, kData);
  } else if (status == 127) {
    outcome.note = fmt::format("gnuplot is not installed (Debian: apt install gnuplot-nox); {} and {} are written: {}",
                               kScript, kData, by_hand);
  } else {
    outcome.note = fmt::format("gnuplot failed (exit status {}); {}", status, by_hand);
  }
  return outcome;
}

}  // namespace rs::ringperf
