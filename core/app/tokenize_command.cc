// `ringserve tokenize` / `detokenize`: a model's tokenizer at the terminal.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include <iostream>
#include <iterator>

#include "core/app/command.h"
#include "core/base/log.h"
#include "core/tokenizer/tokenizer.h"

namespace rs {
namespace {

tokenizer::Tokenizer load_tokenizer(const std::string& model) {
  return tokenizer::Tokenizer(tokenizer::read_vocab(model));
}

std::string read_stdin() { return {std::istreambuf_iterator<char>(std::cin), {}}; }

// Runs `body`, turning any error into one log line and exit code 1.
template <typename Body>
int guarded(const char* command, Body body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    log::error("{}: {}", command, e.what());
    return 1;
  }
}

}  // namespace

Command add_tokenize_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "tokenize", "Read text from stdin and print its token ids as one JSON array (with the BOS the "
                  "model adds, unless --no-bos)");
  auto model = std::make_shared<std::string>();
  auto no_bos = std::make_shared<bool>(false);
  auto special = std::make_shared<bool>(false);
  command.add_option("--model", *model, "A GGUF model or vocabulary file, or a Hugging Face model directory")
      ->required()
      ->check(CLI::ExistingPath);
  command.add_flag("--no-bos", *no_bos, "Do not add the BOS/EOS tokens the model asks for");
  command.add_flag("--special", *special,
                   "Read special tokens written in the text (say <|eot_id|>) as those tokens, not as text");
  return {&command, [model, no_bos, special] {
            return guarded("tokenize", [&] {
              const auto ids = load_tokenizer(*model).encode(read_stdin(), !*no_bos, *special);
              fmt::print("[{}]\n", fmt::join(ids, ","));
            });
          }};
}

Command add_detokenize_command(CLI::App& app) {
  CLI::App& command =
      *app.add_subcommand("detokenize", "Read a JSON array of token ids from stdin and print their text");
  auto model = std::make_shared<std::string>();
  command.add_option("--model", *model, "A GGUF model or vocabulary file, or a Hugging Face model directory")
      ->required()
      ->check(CLI::ExistingPath);
  return {&command, [model] {
            return guarded("detokenize", [&] {
              const tokenizer::Tokenizer tokenizer = load_tokenizer(*model);
              simdjson::dom::parser parser;
              const simdjson::padded_string input(read_stdin());
              std::vector<tokenizer::TokenId> ids;
              for (const auto value : parser.parse(input).get_array()) {
                const int64_t id = value.get_int64();
                if (id < 0 || uint64_t(id) >= tokenizer.vocab().size()) {
                  throw std::invalid_argument(fmt::format("token id {} is outside the vocabulary of {}", id,
                                                          tokenizer.vocab().size()));
                }
                ids.push_back(tokenizer::TokenId(id));
              }
              fmt::print("{}", tokenizer.decode(ids));
            });
          }};
}

}  // namespace rs
