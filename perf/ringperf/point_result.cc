#include "perf/ringperf/point_result.h"

namespace rs::ringperf {

PointResult summarize_point(const PointPlan& plan, const PointMeasurements& measured) {
  PointResult result;
  result.plan = plan;
  result.level = load_level(plan);
  result.window_s = measured.window_s;
  result.unfinished = measured.unfinished;
  result.mean_in_flight = measured.mean_in_flight;
  result.max_in_flight = measured.max_in_flight;
  result.client_cpu = measured.client_cpu;

  std::vector<double> ttft, tpot, ntpot, itl, e2e;
  int64_t prompt_tokens = 0, output_tokens = 0;
  for (const RequestRecord& request : measured.requests) {
    if (!request.ok()) {
      ++result.failed;
      const auto kind = static_cast<size_t>(request.error);
      if (result.errors[kind]++ == 0) result.error_example[kind] = request.error_detail;
      continue;
    }
    ++result.succeeded;
    if (!request.usage_reported) ++result.usage_missing;
    prompt_tokens += request.prompt_tokens;
    output_tokens += request.output_tokens;
    ttft.push_back(request.ttft_ms());
    tpot.push_back(request.tpot_ms());
    ntpot.push_back(request.ntpot_ms());
    e2e.push_back(request.e2e_ms());
    itl.insert(itl.end(), request.itl_ms.begin(), request.itl_ms.end());
  }
  result.ttft = summarize(std::move(ttft));
  result.tpot = summarize(std::move(tpot));
  result.ntpot = summarize(std::move(ntpot));
  result.itl = summarize(std::move(itl));
  result.e2e = summarize(std::move(e2e));
  if (result.window_s > 0) {
    result.requests_per_s = static_cast<double>(result.succeeded) / result.window_s;
    result.input_tokens_per_s = static_cast<double>(prompt_tokens) / result.window_s;
    result.output_tokens_per_s = static_cast<double>(output_tokens) / result.window_s;
  }
  if (result.succeeded > 0) {
    result.mean_prompt_tokens = static_cast<double>(prompt_tokens) / static_cast<double>(result.succeeded);
    result.mean_output_tokens = static_cast<double>(output_tokens) / static_cast<double>(result.succeeded);
  }
  return result;
}

}  // namespace rs::ringperf
