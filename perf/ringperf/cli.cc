#include "perf/ringperf/cli.h"

#include <signal.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/base/log.h"
#include "perf/ringperf/load_generator.h"
#include "perf/ringperf/outputs.h"
#include "perf/ringperf/scenario.h"
#include "perf/ringperf/sweep.h"

namespace rs::ringperf {
namespace {

constexpr const char* kDescription =
    "ringperf: latency-throughput curves of an OpenAI-compatible server (ringserve, vLLM, llama.cpp's server, ...).\n"
    "It sweeps a load (closed-loop users or open-loop Poisson arrivals) over streaming requests from one process,\n"
    "measures TTFT, TPOT, NTPOT, inter-token latency and throughput at each point, finds the inflection point\n"
    "(where throughput stops rising and latency turns up), recommends a max concurrency for latency targets, and\n"
    "prices a token there with GKE Inference Quickstart's formula.";

constexpr const char* kRunFooter =
    "Outputs in DIR: results.json and results.csv (every sweep point: p50/p90/p99 of TTFT, TPOT, NTPOT, ITL and\n"
    "e2e; requests/s; input and output tokens/s; errors by kind), requests.csv (every measured request),\n"
    "latency-throughput.png (NTPOT and TTFT against output tokens/s, drawn by gnuplot; without gnuplot the .gp\n"
    "script and .dat data are left to render by hand) and report.md.\n\n"
    "Definitions: TTFT = request written -> first chunk with text; TPOT = (e2e - TTFT) / (output tokens - 1);\n"
    "NTPOT = e2e / output tokens; ITL = gaps between chunks with text. Token counts come from `usage`.\n"
    "A point measures the requests that finish in its window after the warm-up.\n\n"
    "Inflection point: the first point after which the next step raises output tokens/s by less than\n"
    "--inflection-efficiency of the load's growth while NTPOT p50 or TTFT p50 rises by more than\n"
    "--inflection-latency-rise.\n"
    "Recommendation: the largest point whose NTPOT and TTFT (at --target-percentile) meet the targets with at most\n"
    "1% errors; without targets, the inflection point.\n"
    "Cost (with --gpu-dollars-per-hour): $/output token = GPU $/s / (input tok/s / R + output tok/s),\n"
    "$/input token = $/output token / R, R = --output-input-cost-ratio; at the inflection point, else at the\n"
    "point with the most output throughput.\n\n"
    "Ctrl-C ends the current point early and writes what was measured; a second one quits at once.\n"
    "Scenario files, workloads and every figure: perf/ringperf/README.md.";

std::string shell_quoted(const std::string& arg) {
  if (!arg.empty() &&
      arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@+") ==
          std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (const char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string command_line(int argc, char** argv, const std::string& api_key) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (!api_key.empty()) {  // never write the key into results
      for (size_t at; (at = arg.find(api_key)) != std::string::npos;) arg.replace(at, api_key.size(), "***");
    }
    line += (i > 0 ? " " : "") + shell_quoted(arg);
  }
  return line;
}

std::string ms(double value) { return std::isfinite(value) ? fmt::format("{:.1f} ms", value) : "–"; }

void print_summary(const RunResults& r, const std::string& out_dir, const ChartOutcome& chart) {
  fmt::print("\nringperf: {} against {}{}\n", r.scenario.name, r.url, r.model.empty() ? "" : " (" + r.model + ")");
  fmt::print("{:<18} {:>6} {:>6} {:>8} {:>11} {:>10} {:>10} {:>10}\n", "load", "ok", "failed", "req/s", "out tok/s",
             "TTFT p50", "NTPOT p50", "TPOT p50");
  for (const PointResult& p : r.points) {
    fmt::print("{:<18} {:>6} {:>6} {:>8.2f} {:>11.0f} {:>10} {:>10} {:>10}\n", describe_load(p.plan), p.succeeded,
               p.failed, p.requests_per_s, p.output_tokens_per_s, ms(p.ttft.p50), ms(p.ntpot.p50), ms(p.tpot.p50));
  }
  if (r.inflection) {
    const PointResult& knee = r.points[r.inflection->index];
    fmt::print("inflection point: {} ({:.0f} output tokens/s)\n", describe_load(knee.plan), knee.output_tokens_per_s);
  } else {
    fmt::print("inflection point: none found (extend the sweep)\n");
  }
  if (r.recommendation.index) {
    const PointResult& p = r.points[*r.recommendation.index];
    fmt::print("recommended: max {} ({})\n", describe_load(p.plan), r.recommendation.reason);
  } else {
    fmt::print("recommended: none ({})\n", r.recommendation.reason);
  }
  if (r.cost && std::isfinite(r.cost->dollars_per_million_output)) {
    fmt::print("cost at {}: ${:.4f} per million input tokens, ${:.4f} per million output tokens\n",
               describe_load(r.points[r.cost_index].plan), r.cost->dollars_per_million_input,
               r.cost->dollars_per_million_output);
  } else if (r.cost) {
    fmt::print("cost: not computable, no point had output throughput\n");
  }
  for (const std::string& warning : r.warnings) fmt::print("warning: {}\n", warning);
  fmt::print("wrote {0}/results.json, results.csv, requests.csv, report.md{1}\n", out_dir,
             chart.png_written ? ", latency-throughput.png" : "");
  if (!chart.png_written) fmt::print("chart: {}\n", chart.note);
}

void on_interrupt(int) { LoadGenerator::interrupt(); }

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{kDescription};
  app.name("ringperf");
  app.require_subcommand(1);

  CLI::App* run = app.add_subcommand("run", "run a scenario's sweep against a server and write the results");
  std::string scenario_path, url, out_dir, api_key, model;
  RunOptions options;
  double ntpot_target = 0, ttft_target = 0, gpu_dollars = 0, cost_ratio = 4.0;
  bool no_progress = false;
  run->add_option("SCENARIO", scenario_path, "a scenario file (perf/scenarios/*.json)")->required();
  run->add_option("--url", url, "the server's base URL: http://HOST:PORT (a trailing /v1 is fine)")->required();
  run->add_option("--out", out_dir, "the folder for the results (created)")->required();
  run->add_option("--api-key", api_key, "sent as Authorization: Bearer KEY")->envname("RINGPERF_API_KEY");
  run->add_option("--model", model, "the model to name in requests (default: the scenario's, else the server's first)");
  run->add_option("--target-ntpot-ms", ntpot_target, "NTPOT target for the recommendation (ms per output token)")
      ->check(CLI::PositiveNumber);
  run->add_option("--target-ttft-ms", ttft_target, "TTFT target for the recommendation (ms)")
      ->check(CLI::PositiveNumber);
  run->add_option("--target-percentile", options.targets.percentile, "the percentile the targets apply to")
      ->check(CLI::IsMember({50, 90, 99}))
      ->capture_default_str();
  run->add_option("--gpu-dollars-per-hour", gpu_dollars, "the accelerator's price, for the cost per token")
      ->check(CLI::PositiveNumber);
  run->add_option("--output-input-cost-ratio", cost_ratio, "how many input tokens an output token costs (GKE: 4)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_option("--inflection-efficiency", options.rule.max_throughput_efficiency,
                  "inflection: the next step's throughput growth over its load growth stays below this")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  run->add_option("--inflection-latency-rise", options.rule.min_latency_rise,
                  "inflection: ...while NTPOT or TTFT p50 rises by more than this fraction")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_flag("--no-progress", no_progress, "no live progress line (per-point lines are still printed)");
  run->footer(kRunFooter);

  CLI::App* validate = app.add_subcommand("validate", "check scenario files and say what each would run");
  std::vector<std::string> to_validate;
  validate->add_option("SCENARIO", to_validate, "scenario files")->required();
  validate->footer("Scenario fields: perf/ringperf/README.md.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (validate->parsed()) {
    int failures = 0;
    for (const std::string& path : to_validate) {
      try {
        const Scenario scenario = load_scenario(path);
        fmt::print("{}: ok: {} workload, {} sweep of {} points\n", path, workload_type_name(scenario.workload.type),
                   scenario.load.shape == LoadShape::closed ? "closed-loop" : "Poisson", scenario.points());
      } catch (const std::exception& e) {
        fmt::print(stderr, "{}\n", e.what());
        ++failures;
      }
    }
    return failures == 0 ? 0 : 1;
  }

  try {
    const Scenario scenario = load_scenario(scenario_path);
    options.url = url;
    options.api_key = api_key;
    options.model = model;
    if (ntpot_target > 0) options.targets.ntpot_ms = ntpot_target;
    if (ttft_target > 0) options.targets.ttft_ms = ttft_target;
    if (gpu_dollars > 0) options.cost = CostInputs{gpu_dollars, cost_ratio};
    options.command_line = command_line(argc, argv, api_key);
    options.progress = !no_progress;

    struct sigaction action {};
    action.sa_handler = on_interrupt;
    action.sa_flags = SA_RESETHAND;  // a second Ctrl-C quits at once
    sigaction(SIGINT, &action, nullptr);

    std::filesystem::create_directories(out_dir);  // before the sweep: an unwritable folder fails now, not after it
    const RunResults results = run_sweep(scenario, options);
    write_results_json(results, out_dir + "/results.json");
    write_results_csv(results, out_dir + "/results.csv");
    write_requests_csv(results, out_dir + "/requests.csv");
    const ChartOutcome chart = write_chart(results, out_dir);
    write_report(results, chart, out_dir + "/report.md");
    print_summary(results, out_dir, chart);
    return 0;
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}

}  // namespace rs::ringperf
