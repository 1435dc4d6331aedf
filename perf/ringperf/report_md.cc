#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "perf/ringperf/outputs.h"

namespace rs::ringperf {
namespace {

template <typename... Args>
void append(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

std::string ms_cell(double value) { return std::isfinite(value) ? fmt::format("{:.1f}", value) : "–"; }
std::string three(const Percentiles& p) { return fmt::format("{} / {} / {}", ms_cell(p.p50), ms_cell(p.p90), ms_cell(p.p99)); }
std::string dollars(double value) { return std::isfinite(value) ? fmt::format("${:.4f}", value) : "–"; }

std::string describe_workload(const WorkloadConfig& w) {
  switch (w.type) {
    case WorkloadType::sharegpt: {
      std::string text = fmt::format("ShareGPT lengths (GKE's quantiles) × {:g}", w.length_scale);
      if (w.max_input_tokens) text += fmt::format(", input capped at {}", *w.max_input_tokens);
      if (w.max_output_tokens) text += fmt::format(", output capped at {}", *w.max_output_tokens);
      return text;
    }
    case WorkloadType::fixed:
      return fmt::format("fixed lengths: {} input, {} output tokens", w.input_tokens, w.output_tokens);
    case WorkloadType::shared_prefix:
      return fmt::format("{} shared system prompts of {} tokens, questions of {} tokens, {} output tokens", w.prefixes,
                         w.prefix_tokens, w.question_tokens, w.output_tokens);
    case WorkloadType::repeated_questions:
      return fmt::format("{} distinct questions of {} tokens asked again and again, {} output tokens", w.questions,
                         w.question_tokens, w.output_tokens);
    case WorkloadType::jsonl: return fmt::format("prompts from {}", w.path);
  }
  return "";
}

std::string describe_shape(const LoadConfig& load) {
  std::string levels;
  if (load.shape == LoadShape::closed) {
    for (const int users : load.concurrency) levels += fmt::format("{}{}", levels.empty() ? "" : ", ", users);
    levels = fmt::format("closed loop, concurrency {}", levels);
  } else {
    for (const double rate : load.rates) levels += fmt::format("{}{:g}", levels.empty() ? "" : ", ", rate);
    levels = fmt::format("open loop (Poisson arrivals), {} req/s", levels);
  }
  std::string window;
  if (load.duration_s > 0) window = fmt::format("{:g} s", load.duration_s);
  if (load.requests > 0) window += fmt::format("{}{} requests", window.empty() ? "" : " or ", load.requests);
  return fmt::format("{}; each point: {:g} s warm-up, then {}", levels, load.warmup_s, window);
}

}  // namespace

void write_report(const RunResults& r, const ChartOutcome& chart, const std::string& path) {
  std::string out;
  append(out, "# ringperf: {} against {}\n\n", r.scenario.name, r.url);
  if (!r.scenario.description.empty()) append(out, "{}\n\n", r.scenario.description);
  append(out, "- started {} with `{}`\n", r.started_at, r.command_line);
  append(out, "- model: {}; endpoint: {}\n", r.model.empty() ? "(none named)" : r.model, api_path(r.scenario.endpoint));
  append(out, "- workload: {} (seed {})\n", describe_workload(r.scenario.workload), r.scenario.workload.seed);
  append(out, "- load: {}\n", describe_shape(r.scenario.load));
  append(out, "- prompt text: {:.2f} tokens per word ({})\n\n", r.tokens_per_word,
         r.tokens_per_word_measured ? "measured with the server's /tokenize" : "assumed: the server has no /tokenize");

  if (!r.warnings.empty()) {
    append(out, "## Warnings\n\n");
    for (const std::string& warning : r.warnings) append(out, "- {}\n", warning);
    append(out, "\n");
  }

  append(out,
         "## Sweep\n\nLatencies in ms, p50 / p90 / p99, over the requests that finished in each point's window.\n\n");
  append(out,
         "| load | ok | failed | req/s | input tok/s | output tok/s | TTFT | TPOT | NTPOT | ITL | e2e | in flight | "
         "ringperf CPU |\n");
  append(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < r.points.size(); ++i) {
    const PointResult& p = r.points[i];
    std::string marks;
    if (r.inflection && r.inflection->index == i) marks += " ◆";
    if (r.recommendation.index && *r.recommendation.index == i) marks += " ✔";
    append(out, "| {}{} | {} | {} | {:.2f} | {:.0f} | {:.0f} | {} | {} | {} | {} | {} | {:.1f} | {:.0f}% |\n",
           describe_load(p.plan), marks, p.succeeded, p.failed, p.requests_per_s, p.input_tokens_per_s,
           p.output_tokens_per_s, three(p.ttft), three(p.tpot), three(p.ntpot), three(p.itl), three(p.e2e),
           p.mean_in_flight, p.client_cpu * 100);
  }
  append(out, "\n◆ inflection point, ✔ recommended.\n\n");

  append(out, "## Inflection point\n\n");
  if (r.inflection) {
    const PointResult& knee = r.points[r.inflection->index];
    append(out,
           "**{}**: {:.0f} output tokens/s, NTPOT p50 {} ms, TTFT p50 {} ms. The next step bought only {:.0f}% of its "
           "load increase in throughput while {} p50 rose {:.0f}%.\n\n",
           describe_load(knee.plan), knee.output_tokens_per_s, ms_cell(knee.ntpot.p50), ms_cell(knee.ttft.p50),
           r.inflection->throughput_efficiency * 100, r.inflection->latency_metric, r.inflection->latency_rise * 100);
  } else {
    append(out,
           "None found: throughput kept rising with load, or latency did not turn up. Extend the sweep to higher "
           "load.\n\n");
  }
  append(out,
         "Rule: the first point after which the next step raises output tokens/s by less than {:g}% of the load's "
         "growth while NTPOT p50 or TTFT p50 rises by more than {:g}%.\n\n",
         r.rule.max_throughput_efficiency * 100, r.rule.min_latency_rise * 100);

  append(out, "## Recommendation\n\n");
  if (r.recommendation.index) {
    const PointResult& p = r.points[*r.recommendation.index];
    if (p.plan.shape == LoadShape::closed) {
      append(out, "**Max concurrency {}** ({}). On Cloud Run, set the per-instance concurrency to it.\n\n",
             p.plan.concurrency, r.recommendation.reason);
    } else {
      append(out,
             "**Max rate {:g} req/s** ({}); requests in flight there: {:.1f} on average, {} at most, which bounds the "
             "per-instance concurrency to set.\n\n",
             p.plan.rate, r.recommendation.reason, p.mean_in_flight, p.max_in_flight);
    }
  } else {
    append(out, "None: {}.\n\n", r.recommendation.reason);
  }

  append(out, "## Cost\n\n");
  if (r.cost && r.cost_inputs) {
    const PointResult& p = r.points[r.cost_index];
    append(
        out,
        "At {} ({}): {:.0f} input and {:.0f} output tokens/s on a GPU at ${:g}/hour, output:input cost ratio {:g}.\n\n",
        describe_load(p.plan), r.cost_basis, p.input_tokens_per_s, p.output_tokens_per_s,
        r.cost_inputs->gpu_dollars_per_hour, r.cost_inputs->output_input_cost_ratio);
    append(out, "| per million input tokens | per million output tokens |\n|---|---|\n| {} | {} |\n\n",
           dollars(r.cost->dollars_per_million_input), dollars(r.cost->dollars_per_million_output));
    append(out,
           "GKE's formula: $/output token = GPU $/s ÷ (input tokens/s ÷ ratio + output tokens/s); "
           "$/input token = $/output token ÷ ratio.\n\n");
  } else {
    append(out, "Not computed: give `--gpu-dollars-per-hour` (and `--output-input-cost-ratio`, default 4).\n\n");
  }

  append(out, "## Chart\n\n");
  if (chart.png_written) append(out, "![NTPOT and TTFT against output tokens/s](latency-throughput.png)\n\n");
  append(out, "{}.\n\n", chart.note);

  bool any_errors = false;
  for (const PointResult& p : r.points) any_errors |= p.failed > 0;
  if (any_errors) {
    append(out, "## Errors\n\n| load | kind | count | first message |\n|---|---|---|---|\n");
    for (const PointResult& p : r.points) {
      for (const ErrorKind kind : kErrorKinds) {
        const auto k = static_cast<size_t>(kind);
        if (p.errors[k] == 0) continue;
        std::string example = p.error_example[k];
        for (char& c : example) {
          if (c == '|' || c == '\n') c = ' ';
        }
        append(out, "| {} | {} ({}) | {} | {} |\n", describe_load(p.plan), error_kind_name(kind),
               error_kind_meaning(kind), p.errors[k], example);
      }
    }
    append(out, "\n");
  }

  append(out,
         "## Definitions\n\n"
         "- **TTFT**: from writing the request to the first streamed chunk that carries text.\n"
         "- **TPOT**: (e2e − TTFT) ÷ (output tokens − 1): decode speed once the answer streams.\n"
         "- **NTPOT**: e2e ÷ output tokens: the time a user waits per token, queueing and prefill included.\n"
         "- **ITL**: the gaps between consecutive chunks carrying text, pooled over requests.\n"
         "- **e2e**: from writing the request to the end of the response.\n"
         "- Token counts come from each response's `usage`. A point measures the requests that finish inside its "
         "window (after the warm-up); throughput is their tokens over the window's length; requests still in flight "
         "when it closes are abandoned and not counted.\n"
         "- **ringperf CPU**: the load generator's share of one core; near 100% it, not the server, sets the pace.\n");
  OutputFile(path).write(out);
}

}  // namespace rs::ringperf
