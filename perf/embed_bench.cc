// embed_bench: ringserve's CPU sentence encoder (cpu::BertEncoder) on a batch
// of inputs of an exact token count, for perf/embed-bench.sh.
//
//   embed_bench MODEL [--inputs 32] [--tokens 64] [--threads 2] [--runs 5]
//                     [--prompts OUT] [--ids OUT] [--seed 1]
//
// Makes `inputs` texts of lower-case words (2 to 5 letters, seeded), each
// filled out with 2-letter words until ringserve's tokenizer gives it exactly
// `tokens` ids, [CLS] and [SEP] included (the synth WordPiece vocabulary has
// every 2-letter piece, so each such word is one id). Then times encode() of
// the whole batch in one call, as /v1/embeddings runs the requests that wait
// together: one unmeasured warm-up call, then `runs` measured calls. Prints
// one JSON line:
//   {"inputs":32,"tokens":64,"threads":2,"runs_ms":[...],"median_ms":...,"tok_s":...,
//    "cpu_ms":...,"warmup_ms":...,"load_ms":...}
// cpu_ms: the median CPU time of the whole process per call (every thread),
// which shows how much other load took from the wall time.
// --prompts writes the texts one per line (llama-embedding -f reads them so);
// --ids the ids, one input per line, for the script's check that llama.cpp's
// tokenizer gives the same.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/cpu/bert_encoder.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/vocab.h"
#include "perf/bench_driver.h"

namespace {

struct Args {
  std::string model;
  int inputs = 32;
  int tokens = 64;
  unsigned threads = 2;
  int runs = 5;
  std::string prompts_path, ids_path;
  uint64_t seed = 1;
};

bool parse(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--inputs" && has_value) {
      args.inputs = std::atoi(argv[++i]);
    } else if (arg == "--tokens" && has_value) {
      args.tokens = std::atoi(argv[++i]);
    } else if (arg == "--threads" && has_value) {
      args.threads = unsigned(std::atoi(argv[++i]));
    } else if (arg == "--runs" && has_value) {
      args.runs = std::atoi(argv[++i]);
    } else if (arg == "--prompts" && has_value) {
      args.prompts_path = argv[++i];
    } else if (arg == "--ids" && has_value) {
      args.ids_path = argv[++i];
    } else if (arg == "--seed" && has_value) {
      args.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg.starts_with("--") || !args.model.empty()) {
      return false;
    } else {
      args.model = arg;
    }
  }
  return !args.model.empty() && args.inputs > 0 && args.tokens >= 3 && args.runs > 0;
}

std::string word(std::mt19937_64& random, int letters) {
  std::string w;
  for (int i = 0; i < letters; ++i) w += char('a' + random() % 26);
  return w;
}

// A text that `tokenizer` turns into exactly `tokens` ids with [CLS] and [SEP]; throws where it cannot.
std::string text_of(const rs::tokenizer::Tokenizer& tokenizer, int tokens, std::mt19937_64& random) {
  const auto count = [&](const std::string& text) { return int(tokenizer.encode(text, true).size()); };
  std::string text;
  // Varied words while they fit, then one-id words to the exact count.
  for (int tries = 0; tries < 4 * tokens; ++tries) {
    std::string candidate = text;
    if (!candidate.empty()) candidate += ' ';
    candidate += word(random, 2 + int(random() % 4));
    if (count(candidate) <= tokens - 8) text = std::move(candidate);
  }
  while (count(text) < tokens) {
    if (!text.empty()) text += ' ';
    text += word(random, 2);
  }
  if (count(text) != tokens) throw std::runtime_error(fmt::format("cannot make a text of {} tokens", tokens));
  return text;
}

double process_cpu_ms() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto ms = [](const timeval& t) { return double(t.tv_sec) * 1e3 + double(t.tv_usec) / 1e3; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

double since_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: embed_bench MODEL [--inputs N] [--tokens N] [--threads N] [--runs N] [--prompts OUT] "
                 "[--ids OUT] [--seed N]\n");
    return 2;
  }
  try {
    const auto load_start = std::chrono::steady_clock::now();
    rs::cpu::BertEncoder encoder(args.model, args.threads);
    const double load_ms = since_ms(load_start);
    const rs::tokenizer::Tokenizer tokenizer(rs::tokenizer::read_vocab(args.model));

    std::mt19937_64 random(args.seed);
    std::vector<std::string> texts;
    std::vector<std::vector<int32_t>> ids;
    for (int i = 0; i < args.inputs; ++i) {
      texts.push_back(text_of(tokenizer, args.tokens, random));
      const auto encoded = tokenizer.encode(texts.back(), true);
      ids.emplace_back(encoded.begin(), encoded.end());
    }
    if (!args.prompts_path.empty()) {
      std::ofstream out(args.prompts_path);
      for (const std::string& text : texts) out << text << "\n";
    }
    if (!args.ids_path.empty()) {
      std::ofstream out(args.ids_path);
      for (const auto& input : ids) {
        for (size_t j = 0; j < input.size(); ++j) out << (j ? " " : "") << input[j];
        out << "\n";
      }
    }

    const std::vector<std::span<const int32_t>> batch(ids.begin(), ids.end());
    std::vector<float> out(batch.size() * encoder.dims());
    auto start = std::chrono::steady_clock::now();
    encoder.encode(batch, out);
    const double warmup_ms = since_ms(start);
    std::vector<double> wall_ms, cpu_ms;
    for (int run = 0; run < args.runs; ++run) {
      const double cpu_start = process_cpu_ms();
      start = std::chrono::steady_clock::now();
      encoder.encode(batch, out);
      wall_ms.push_back(since_ms(start));
      cpu_ms.push_back(process_cpu_ms() - cpu_start);
    }
    const double median = rs::perf::median_of(wall_ms);
    std::printf(
        "{\"inputs\":%d,\"tokens\":%d,\"threads\":%u,\"runs_ms\":[%s],\"median_ms\":%.2f,\"tok_s\":%.1f,"
        "\"cpu_ms\":%.2f,\"warmup_ms\":%.2f,\"load_ms\":%.1f}\n",
        args.inputs, args.tokens, args.threads, fmt::format("{:.2f}", fmt::join(wall_ms, ",")).c_str(), median,
        double(args.inputs) * args.tokens / (median / 1e3), rs::perf::median_of(cpu_ms), warmup_ms, load_ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embed_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
