#include "core/app/measured_batch.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <stdexcept>

namespace rs {
namespace {

using simdjson::dom::element;

std::runtime_error bad_file(const std::string& path, std::string_view why) {
  return std::runtime_error(fmt::format("--from {}: {}", path, why));
}

// A field's value, or `fallback` where it is absent, null or of another type.
template <typename T>
T value_or(simdjson::simdjson_result<element> field, T fallback) {
  T value;
  return field.get(value) == simdjson::SUCCESS ? value : fallback;
}

// A latency percentile of a point: null (no request measured) is nullopt.
std::optional<double> latency(element point, std::string_view metric, std::string_view percentile) {
  double value = 0;
  if (point[metric][percentile].get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

bool meets(element point, const LatencyTargets& targets, std::string_view percentile, double max_error_fraction) {
  const auto succeeded = value_or<uint64_t>(point["succeeded"], 0), failed = value_or<uint64_t>(point["failed"], 0);
  if (succeeded == 0 || double(failed) / double(succeeded + failed) > max_error_fraction) return false;
  const auto within = [&](std::string_view metric, const std::optional<double>& target) {
    if (!target) return true;
    const std::optional<double> value = latency(point, metric, percentile);
    return value && *value <= *target;
  };
  return within("ntpot_ms", targets.ntpot_ms) && within("ttft_ms", targets.ttft_ms);
}

}  // namespace

MeasuredBatch measured_batch(const std::string& path, const LatencyTargets& targets) {
  simdjson::dom::parser parser;
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text) != simdjson::SUCCESS) throw bad_file(path, "cannot read it");
  element results;
  simdjson::dom::array points;
  if (parser.parse(text).get(results) != simdjson::SUCCESS || results["points"].get_array().get(points)) {
    throw bad_file(path, "not a ringperf results.json (no \"points\")");
  }
  for (element point : points) {
    if (point["concurrency"].get_uint64().error() != simdjson::SUCCESS) {
      throw bad_file(path, "an open-loop (poisson) sweep has no concurrency to size Cloud Run by: run a closed one");
    }
  }
  if (!targets.any()) {
    uint64_t concurrency = 0;
    if (results["inflection"]["concurrency"].get_uint64().get(concurrency) != simdjson::SUCCESS) {
      throw bad_file(path, "the run found no inflection point: give --target-ntpot-ms or --target-ttft-ms");
    }
    return {concurrency, fmt::format("the inflection point of {}", path)};
  }
  // Absent: ringperf's defaults.
  const auto percentile = value_or<int64_t>(results["targets"]["percentile"], 90);
  const auto max_error_fraction = value_or<double>(results["targets"]["max_error_fraction"], 0.01);
  const std::string p = fmt::format("p{}", percentile);
  std::optional<uint64_t> best;  // points run in increasing concurrency: the last that meets them
  for (element point : points) {
    if (meets(point, targets, p, max_error_fraction)) best = uint64_t(point["concurrency"].get_uint64());
  }
  const std::string wanted = fmt::format("{} NTPOT ≤ {} ms, TTFT ≤ {} ms", p,
                                         targets.ntpot_ms ? fmt::format("{:g}", *targets.ntpot_ms) : "any",
                                         targets.ttft_ms ? fmt::format("{:g}", *targets.ttft_ms) : "any");
  if (!best) throw bad_file(path, fmt::format("no point of the sweep has {}", wanted));
  return {*best, fmt::format("the largest concurrency of {} with {}", path, wanted)};
}

}  // namespace rs
