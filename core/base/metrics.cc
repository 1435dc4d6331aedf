#include "core/base/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace rs::metrics {
namespace {

// Label values escape backslash, double quote and newline; HELP text escapes
// backslash and newline (exposition format 0.0.4).
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (char c : text) {
    if (c == '\\') out.append("\\\\");
    else if (c == '\n') out.append("\\n");
    else if (c == '"' && escape_quote) out.append("\\\"");
    else out.push_back(c);
  }
}

}  // namespace

void Histogram::observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  if (i < kBounds.size()) buckets_[i].add();
  count_.add();
  sum_.store(sum_.load(std::memory_order_relaxed) + seconds, std::memory_order_relaxed);
}

void Exposition::histogram(std::string_view name, const Histogram& histogram, Label label) {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kBounds.size(); ++i) {
    cumulative += histogram.bucket(i);
    const std::string le = fmt::format("{}", Histogram::kBounds[i]);
    if (label.name.empty()) sample(bucket, {{"le", le}}, double(cumulative));
    else sample(bucket, {label, {"le", le}}, double(cumulative));
  }
  // A writer may be mid-observe: +Inf and _count must not fall below the buckets.
  const uint64_t count = std::max(histogram.count(), cumulative);
  if (label.name.empty()) {
    sample(bucket, {{"le", "+Inf"}}, double(count));
    sample(std::string(name) + "_sum", {}, histogram.sum());
    sample(std::string(name) + "_count", {}, double(count));
  } else {
    sample(bucket, {label, {"le", "+Inf"}}, double(count));
    sample(std::string(name) + "_sum", {label}, histogram.sum());
    sample(std::string(name) + "_count", {label}, double(count));
  }
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  text_.append("# HELP ").append(name).push_back(' ');
  append_escaped(text_, help, false);
  text_.append("\n# TYPE ").append(name).push_back(' ');
  text_.append(type).push_back('\n');
}

void Exposition::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  text_.append(name);
  if (labels.size() > 0) {
    text_.push_back('{');
    bool first = true;
    for (const Label& label : labels) {
      if (!first) text_.push_back(',');
      first = false;
      text_.append(label.name).append("=\"");
      append_escaped(text_, label.value, true);
      text_.push_back('"');
    }
    text_.push_back('}');
  }
  text_.push_back(' ');
  if (std::isnan(value)) text_.append("NaN");
  else if (std::isinf(value)) text_.append(value > 0 ? "+Inf" : "-Inf");
  else fmt::format_to(std::back_inserter(text_), "{}", value);
  text_.push_back('\n');
}

}  // namespace rs::metrics
