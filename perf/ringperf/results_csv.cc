#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "perf/ringperf/clock.h"
#include "perf/ringperf/outputs.h"

namespace rs::ringperf {
namespace {

// An undefined figure is an empty cell.
std::string csv_cell(double value) { return std::isfinite(value) ? fmt::format("{:.6g}", value) : ""; }

std::string csv_field(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c == '\n' || c == '\r' ? ' ' : c;
  }
  return out + '"';
}

}  // namespace

void write_results_csv(const RunResults& r, const std::string& path) {
  std::string out =
      "point,shape,concurrency,rate,window_s,succeeded,failed,unfinished,requests_per_s,"
      "input_tokens_per_s,output_tokens_per_s";
  for (const std::string_view latency : {"ttft_ms", "tpot_ms", "ntpot_ms", "itl_ms", "e2e_ms"}) {
    fmt::format_to(std::back_inserter(out), ",{0}_p50,{0}_p90,{0}_p99", latency);
  }
  out += ",mean_prompt_tokens,mean_output_tokens,mean_in_flight,max_in_flight,client_cpu";
  for (const ErrorKind kind : kErrorKinds) fmt::format_to(std::back_inserter(out), ",errors_{}", error_kind_name(kind));
  out += ",inflection,recommended\n";

  for (size_t i = 0; i < r.points.size(); ++i) {
    const PointResult& p = r.points[i];
    const bool closed = p.plan.shape == LoadShape::closed;
    fmt::format_to(std::back_inserter(out), "{},{},{},{},{},{},{},{},{},{},{}", i, closed ? "closed" : "poisson",
                   closed ? std::to_string(p.plan.concurrency) : "", closed ? "" : csv_cell(p.plan.rate), csv_cell(p.window_s),
                   p.succeeded, p.failed, p.unfinished, csv_cell(p.requests_per_s), csv_cell(p.input_tokens_per_s),
                   csv_cell(p.output_tokens_per_s));
    for (const Percentiles* latency : {&p.ttft, &p.tpot, &p.ntpot, &p.itl, &p.e2e}) {
      fmt::format_to(std::back_inserter(out), ",{},{},{}", csv_cell(latency->p50), csv_cell(latency->p90), csv_cell(latency->p99));
    }
    fmt::format_to(std::back_inserter(out), ",{},{},{},{},{}", csv_cell(p.mean_prompt_tokens), csv_cell(p.mean_output_tokens),
                   csv_cell(p.mean_in_flight), p.max_in_flight, csv_cell(p.client_cpu));
    for (const ErrorKind kind : kErrorKinds) {
      fmt::format_to(std::back_inserter(out), ",{}", p.errors[static_cast<size_t>(kind)]);
    }
    fmt::format_to(std::back_inserter(out), ",{},{}\n", r.inflection && r.inflection->index == i ? 1 : 0,
                   r.recommendation.index && *r.recommendation.index == i ? 1 : 0);
  }
  OutputFile(path).write(out);
}

void write_requests_csv(const RunResults& r, const std::string& path) {
  std::string out =
      "point,sequence,sent_s,ttft_ms,tpot_ms,ntpot_ms,e2e_ms,prompt_tokens,output_tokens,text_chunks,"
      "usage_reported,http_status,error,error_detail\n";
  for (size_t i = 0; i < r.measurements.size(); ++i) {
    const PointMeasurements& point = r.measurements[i];
    for (const RequestRecord& q : point.requests) {
      // sent_s counts from the window's start: requests sent during the warm-up are negative.
      fmt::format_to(std::back_inserter(out), "{},{},{:.6f},{},{},{},{},{},{},{},{},{},{},{}\n", i, q.sequence,
                     ns_to_seconds(q.sent_ns - point.window_start_ns), csv_cell(q.ttft_ms()), csv_cell(q.tpot_ms()),
                     csv_cell(q.ntpot_ms()), csv_cell(q.e2e_ms()), q.prompt_tokens, q.output_tokens, q.text_chunks,
                     q.usage_reported ? 1 : 0, q.http_status, q.ok() ? "" : error_kind_name(q.error),
                     q.ok() ? "" : csv_field(q.error_detail));
    }
  }
  OutputFile(path).write(out);
}

}  // namespace rs::ringperf
