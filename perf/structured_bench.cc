// structured_bench: what constrained decoding costs on a real vocabulary
// (perf/results/structured.md), with nothing else running:
//   compile  JSON Schema text to its automaton, per schema: median of 50
//   mask     per generated token, the constraint's share of a sampling step:
//            Matcher::allowed (the mask) plus masking a row of logits, while
//            a valid document, tokenized as the model would write it, is fed
//            through the matcher token by token. "cold": the first documents
//            on a freshly compiled grammar, where each state's tokens are
//            computed on first use; "warm": the documents after those.
//   depth    GBNF grammars that are hard on a stack matcher (two rules that read
//            alike, nested; right recursion; nesting to the depth limit;
//            ambiguous nesting through a rule that may be empty), each fed one
//            long valid text: the mask and the read per token, and the most
//            stacks held.
// Usage: structured_bench [VOCAB_GGUF] [DOCUMENTS]
//   (default ../shared/tokenizers/llama3.2-vocab.gguf from the repository, 200)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/grammar/automaton.h"
#include "core/grammar/gbnf.h"
#include "core/grammar/json_schema.h"
#include "core/grammar/matcher.h"
#include "core/model/gguf_reader.h"
#include "core/sampler/constraint.h"
#include "core/tokenizer/special_tokens.h"
#include "core/tokenizer/tokenizer.h"

namespace {

using namespace rs;
using Clock = std::chrono::steady_clock;

const char* const kWords[] = {"alpha", "river",      "stone", "Zürich", "north",  "amber", "seven",
                              "cloud", "quiet",      "maple", "delta",  "harbor", "x",     "long words with spaces",
                              "café",  "42nd street"};

std::string word(std::mt19937& rng) { return kWords[rng() % std::size(kWords)]; }

struct Case {
  std::string name;
  std::string schema;
  std::function<std::string(std::mt19937&)> document;  // a valid instance, as a model would lay it out
};

std::vector<Case> cases() {
  return {
      {"person (nested object, array, enum)",
       R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},)"
       R"("tags":{"type":"array","items":{"type":"string"},"maxItems":5},)"
       R"("address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},)"
       R"("zip":{"type":"string","pattern":"[0-9]{5}"}},"required":["street","city"]},)"
       R"("kind":{"enum":["employee","contractor","visitor"]},"active":{"type":"boolean"}},)"
       R"("required":["name","age","address","kind"]})",
       [](std::mt19937& rng) {
         std::string tags;
         for (unsigned i = 0, n = rng() % 4; i < n; ++i) tags += fmt::format("{}\"{}\"", i ? ", " : "", word(rng));
         return fmt::format(R"({{"name": "{} {}", "age": {}, "tags": [{}], "address": {{"street": "{} {}", )"
                            R"("city": "{}", "zip": "{:05}"}}, "kind": "{}", "active": {}}})",
                            word(rng), word(rng), rng() % 90, tags, rng() % 999, word(rng), word(rng), rng() % 99999,
                            rng() % 2 ? "employee" : "visitor", rng() % 2 ? "true" : "false");
       }},
      {"order (array of objects, numbers, formats, null)",
       R"({"type":"object","properties":{"id":{"type":"string","format":"uuid"},)"
       R"("items":{"type":"array","minItems":1,"items":{"type":"object","properties":{"sku":{"type":"string"},)"
       R"("quantity":{"type":"integer"},"price":{"type":"number"}},"required":["sku","quantity","price"]}},)"
       R"("customer":{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string"}},)"
       R"("required":["name"]},"note":{"type":["string","null"]}},"required":["id","items","customer","note"]})",
       [](std::mt19937& rng) {
         std::string items;
         for (unsigned i = 0, n = 1 + rng() % 3; i < n; ++i) {
           items += fmt::format(R"({}{{"sku": "{}-{}", "quantity": {}, "price": {}.{:02}}})", i ? ", " : "", word(rng),
                                rng() % 1000, 1 + rng() % 9, rng() % 500, rng() % 100);
         }
         return fmt::format(R"({{"id": "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", "items": [{}], )"
                            R"("customer": {{"name": "{}", "email": "{}@example.com"}}, "note": {}}})",
                            rng(), rng() % 65536, rng() % 65536, rng() % 65536, uint64_t(rng()) << 16, items, word(rng),
                            word(rng), rng() % 2 ? std::string("null") : fmt::format("\"{}\"", word(rng)));
       }},
      {"tree (recursive $ref)",
       R"({"$defs":{"node":{"type":"object","properties":{"name":{"type":"string"},)"
       R"("children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["name","children"]}},)"
       R"("$ref":"#/$defs/node"})",
       [](std::mt19937& rng) {
         std::function<std::string(int)> node = [&](int depth) {
           std::string children;
           for (unsigned i = 0, n = depth < 3 ? rng() % 3 : 0; i < n; ++i)
             children += (i ? ", " : "") + node(depth + 1);
           return fmt::format(R"({{"name": "{}", "children": [{}]}})", word(rng), children);
         };
         return node(0);
       }},
  };
}

struct DepthCase {
  const char* name;
  const char* gbnf;
  std::string text;
};

std::string repeated(std::string_view piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += piece;
  return out;
}

std::vector<DepthCase> depth_cases() {
  return {
      {"two rules alike, 500 deep",
       "root ::= e\ne ::= \"(\" e \")\" | \"(\" f \")\" | \"x\"\nf ::= \"(\" e \")\" | \"(\" f \")\" | \"x\"",
       repeated("(", 500) + "x" + repeated(")", 500)},
      {"right recursion, 3000 lines", "root ::= line root | line\nline ::= [a-z ]+ \"\\n\"", repeated("ab cd\n", 3000)},
      {"pairs e ::= ( e ) e | \"\", 3000", "root ::= e\ne ::= \"(\" e \")\" e | \"\"", repeated("()", 3000)},
      // Up to FrameArena::kMaxDepth, where a mask is walked from the stack itself rather than from its tables.
      {"nesting to the depth limit, 1000", "root ::= e\ne ::= \"(\" e \")\" | \"x\"",
       repeated("(", 1000) + "x" + repeated(")", 1000)},
      // Ambiguous nesting with a rule that may be empty. Each `(` may open an `f` or be read by the class, so the
      // top stack's callers are a join of one frame per level, and a mask walks on below each of them: its cost
      // grows with the depth times the tokens the class reads (the second: most of the vocabulary). Bounded by
      // Matcher::kMaskVisits, not cheap.
      {"nullable nesting, 450 deep", "root ::= e\ne ::= f \")\" | \"\" | \"x\"\nf ::= \"(\" e+ [(+]+",
       repeated("(", 450) + "x" + repeated("+)", 450)},
      {"nullable nesting over words, 20 deep", "root ::= e\ne ::= f \")\" | \"\" | \"x\"\nf ::= \"(\" e+ [a-z (]+",
       repeated("(", 20) + "x" + repeated(" ab)", 20)},
  };
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

double us_since(Clock::time_point t) { return std::chrono::duration<double, std::micro>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  const std::string vocab_path =
      argc > 1 ? argv[1] : std::string(RINGSERVE_SOURCE_DIR) + "/../shared/tokenizers/llama3.2-vocab.gguf";
  const int documents = argc > 2 ? std::stoi(argv[2]) : 200;
  const tokenizer::Tokenizer tok(tokenizer::vocab_from_metadata(model::read_gguf(vocab_path).metadata, vocab_path));
  std::vector<std::string> bytes(tok.vocab().size());
  for (size_t id = 0; id < bytes.size(); ++id) bytes[id] = tok.piece(tokenizer::TokenId(id));
  const auto trie_start = Clock::now();
  const auto trie = std::make_shared<const grammar::TokenTrie>(std::move(bytes));
  fmt::print("vocabulary {}: {} tokens, trie of {} nodes built in {:.1f} ms\n", vocab_path, trie->vocab_size(),
             trie->node_count(), us_since(trie_start) / 1000);
  fmt::print("{:<50} {:>11} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "schema", "compile ms", "states",
             "cold p50", "cold p99", "cold max", "warm p50", "warm p99", "warm max", "apply p50", "apply p99");

  const std::vector<tokenizer::TokenId> ends = tokenizer::end_of_generation_tokens(tok.vocab());
  std::vector<float> logits(trie->vocab_size());
  std::vector<uint64_t> allowed((trie->vocab_size() + 63) / 64);
  for (const Case& c : cases()) {
    std::vector<double> compile_ms;
    std::shared_ptr<const grammar::CompiledGrammar> compiled;
    for (int i = 0; i < 50; ++i) {
      const auto start = Clock::now();
      grammar::Automaton automaton = grammar::Automaton::compile(grammar::json_schema_grammar(c.schema));
      compile_ms.push_back(us_since(start) / 1000);
      compiled = std::make_shared<const grammar::CompiledGrammar>(std::move(automaton), trie, ends);
    }
    std::mt19937 rng(1);
    std::vector<double> cold, warm, apply;
    const int cold_documents = std::max(1, documents / 20);
    for (int d = 0; d < documents; ++d) {
      const std::string text = c.document(rng);
      grammar::Matcher matcher(compiled);
      for (const tokenizer::TokenId token : tok.encode(text, false)) {
        std::fill(allowed.begin(), allowed.end(), 0);
        const auto start = Clock::now();
        matcher.allowed(allowed);
        (d < cold_documents ? cold : warm).push_back(us_since(start));
        const auto apply_start = Clock::now();
        sampler::mask_logits(logits, allowed);
        apply.push_back(us_since(apply_start));
        if (!(allowed[size_t(token) / 64] >> (token % 64) & 1)) {
          fmt::print(stderr, "structured_bench: the mask refuses token {} of a valid document: {}\n", token, text);
          return 1;
        }
        matcher.accept(token);
        std::fill(logits.begin(), logits.end(), 0.0f);
      }
      if (!matcher.complete()) {
        fmt::print(stderr, "structured_bench: a valid document did not complete its grammar: {}\n", text);
        return 1;
      }
    }
    fmt::print("{:<50} {:>11.2f} {:>7} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f}\n",
               c.name, percentile(compile_ms, 0.5), compiled->automaton().state_count(), percentile(cold, 0.5),
               percentile(cold, 0.99), percentile(cold, 1.0), percentile(warm, 0.5), percentile(warm, 0.99),
               percentile(warm, 1.0), percentile(apply, 0.5), percentile(apply, 0.99));
  }
  fmt::print(
      "microseconds per generated token: the mask (Matcher::allowed), cold in the first {} documents of {}, "
      "warm after; apply: masking a row of logits with it (sampler::mask_logits)\n",
      std::max(1, documents / 20), documents);

  fmt::print("\n{:<34} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}\n", "grammar", "tokens", "mask p50",
             "mask p99", "mask max", "read p50", "read max", "stacks", "complete");
  for (const DepthCase& c : depth_cases()) {
    const auto compiled = std::make_shared<const grammar::CompiledGrammar>(
        grammar::Automaton::compile(grammar::parse_gbnf(c.gbnf)), trie, ends);
    grammar::Matcher matcher(compiled);
    std::vector<double> mask, read;
    size_t stacks = matcher.stack_count();
    const std::vector<tokenizer::TokenId> tokens = tok.encode(c.text, false);
    for (const tokenizer::TokenId token : tokens) {
      std::fill(allowed.begin(), allowed.end(), 0);
      const auto start = Clock::now();
      matcher.allowed(allowed);
      mask.push_back(us_since(start));
      if (!(allowed[size_t(token) / 64] >> (token % 64) & 1)) {
        fmt::print(stderr, "structured_bench: the mask refuses token {} ({} of {}) of {}\n", token, mask.size(),
                   tokens.size(), c.name);
        return 1;
      }
      const auto read_start = Clock::now();
      matcher.accept(token);
      read.push_back(us_since(read_start));
      stacks = std::max(stacks, matcher.stack_count());
    }
    fmt::print("{:<34} {:>7} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>7} {:>9}\n", c.name, tokens.size(),
               percentile(mask, 0.5), percentile(mask, 0.99), percentile(mask, 1.0), percentile(read, 0.5),
               percentile(read, 1.0), stacks, matcher.complete() ? "yes" : "NO");
  }
  fmt::print("microseconds per token of one long valid text; stacks: the most the matcher held at once\n");
  return 0;
}
