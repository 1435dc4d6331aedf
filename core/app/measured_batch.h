#pragma once
// The ideal batch size a ringperf run measured, read from its results.json
// (perf/ringperf/README.md): `ringserve plan --from` puts it in Google's
// concurrency rule in place of --max-seqs.
#include <cstdint>
#include <optional>
#include <string>

namespace rs {

struct LatencyTargets {
  std::optional<double> ntpot_ms;
  std::optional<double> ttft_ms;

  bool any() const { return ntpot_ms || ttft_ms; }
};

struct MeasuredBatch {
  uint64_t concurrency = 0;
  std::string source;  // which point, and why, in words
};

// With targets: the largest closed-loop point whose NTPOT and TTFT at the run's target percentile meet them with
// at most the run's error fraction failed (ringperf's own recommendation rule, on the run's figures). Without:
// the run's inflection point. Throws std::runtime_error naming the file when it cannot be read, is not a
// closed-loop ringperf result, or has no such point.
MeasuredBatch measured_batch(const std::string& results_path, const LatencyTargets& targets);

}  // namespace rs
