#pragma once
// A scenario file (perf/scenarios/*.json): what to send (workload), how hard
// (load shape and sweep), for how long, and to which endpoint. Validated on
// load: every mistake is an error naming the file and the field.
//
// {
//   "description": "…",                          optional
//   "endpoint": "completions" | "chat",          default completions
//   "model": "…",                                optional: else --model, else the server's first model
//   "seed": 1,                                   prompts, lengths and open-loop arrivals
//   "ignore_eos": true,                          ask for exactly max_tokens (vLLM's extension)
//   "request_fields": {"temperature": 0},        optional: added to every request body
//   "workload": {"type": "sharegpt" | "fixed" | "shared_prefix" | "repeated_questions" | "jsonl", …},
//   "load": {"shape": "closed" | "poisson", "concurrency": [1, 2, 4] | "max_concurrency": 16 | "rates": [1, 2],
//            "warmup_seconds": 2, "duration_seconds": 30, "requests": 200, "request_timeout_seconds": 300,
//            "max_connections": 1024}
// }
// Each workload type's fields are listed in kWorkloadFields (scenario.cc) and README's ringperf section.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "perf/ringperf/load_plan.h"
#include "perf/ringperf/request_builder.h"
#include "perf/ringperf/workload.h"

namespace rs::ringperf {

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadConfig {
  LoadShape shape = LoadShape::closed;
  std::vector<int> concurrency;  // closed: the sweep's user counts, increasing
  std::vector<double> rates;     // poisson: the sweep's request rates, increasing
  double warmup_s = 2;
  double duration_s = 0;  // 0: not given (then `requests` is)
  int64_t requests = 0;   // 0: not given
  double request_timeout_s = 300;
  int max_connections = 1024;
};

struct Scenario {
  std::string path;  // as given
  std::string name;  // the file name without .json
  std::string description;
  std::string source_json;  // the file, minified, for results.json
  ApiEndpoint endpoint = ApiEndpoint::completions;
  std::string model;  // empty: not given
  bool ignore_eos = true;
  std::string request_fields;  // members of an object, minified, without braces
  WorkloadConfig workload;
  LoadConfig load;

  size_t points() const { return load.shape == LoadShape::closed ? load.concurrency.size() : load.rates.size(); }
  // The plan of sweep point `index`.
  PointPlan plan(size_t index) const;
};

// Throws ScenarioError "FILE: FIELD: what is wrong".
Scenario load_scenario(const std::string& path);
// The same from text; `path` names it in errors and anchors a prompt file's relative path.
Scenario parse_scenario(std::string_view json, const std::string& path);

}  // namespace rs::ringperf
