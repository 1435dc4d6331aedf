// core/ basics: JSON string output, Prometheus exposition, the MPSC queue.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/base/json_write.h"
#include "core/base/metrics.h"
#include "io/http_metrics.h"
#include "core/base/mpsc_queue.h"

namespace rs {
namespace {

TEST(JsonWrite, EscapesQuotesControlsAndReplacesInvalidUtf8) {
  EXPECT_EQ(json::quote("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  EXPECT_EQ(json::quote("héllo 世界 🙂"), "\"héllo 世界 🙂\"");
  EXPECT_EQ(json::quote("\xff"), "\"\xEF\xBF\xBD\"");
  EXPECT_EQ(json::quote("\xC3"), "\"\xEF\xBF\xBD\"");            // truncated sequence
  EXPECT_EQ(json::quote("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong
  EXPECT_EQ(json::quote("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

TEST(Metrics, ExpositionFormat) {
  metrics::Exposition out;
  out.family("x_total", "counter", "Things\\ counted\nhere.");
  out.sample("x_total", {{"a", "q\"v\\\n"}}, 3);
  out.sample("x_total", {}, 0.5);
  EXPECT_EQ(out.text(),
            "# HELP x_total Things\\\\ counted\\nhere.\n# TYPE x_total counter\n"
            "x_total{a=\"q\\\"v\\\\\\n\"} 3\nx_total 0.5\n");
}

TEST(Metrics, HttpMetricsOfEveryShard) {
  io::HttpMetrics a, b;
  a.count_response(200);
  a.count_response(200);
  b.count_response(404);
  b.connections_open.add(3);
  b.bytes_sent.add(10);
  const io::HttpMetrics* shards[] = {&a, &b};
  metrics::Exposition out;
  io::render_http_metrics(shards, out);
  const std::string& text = out.text();
  EXPECT_NE(text.find("ringserve_http_requests_total{shard=\"0\",code=\"200\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("ringserve_http_requests_total{shard=\"1\",code=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ringserve_http_connections_open{shard=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("ringserve_http_sent_bytes_total{shard=\"1\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("ringserve_http_received_bytes_total{shard=\"0\"} 0\n"), std::string::npos);
}

TEST(MpscQueue, EveryItemOfEveryProducerArrivesInProducerOrder) {
  MpscQueue<std::pair<int, int>> queue;
  constexpr int kProducers = 4, kItems = 50000;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kItems; ++i) queue.push({p, i});
    });
  }
  std::vector<int> next(kProducers, 0);
  int received = 0;
  while (received < kProducers * kItems) {
    if (auto item = queue.pop()) {
      ASSERT_EQ(item->second, next[item->first]++);
      ++received;
    }
  }
  for (auto& t : producers) t.join();
  EXPECT_FALSE(queue.pop().has_value());
}

}  // namespace
}  // namespace rs
