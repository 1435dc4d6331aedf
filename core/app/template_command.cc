// `ringserve template`: a model's chat template at the terminal.
#include <fmt/format.h>

#include <iostream>
#include <iterator>

#include "core/app/command.h"
#include "core/base/log.h"
#include "core/template/chat_template.h"
#include "core/tokenizer/vocab.h"

namespace rs {
namespace {

// The text of a special token, "" when the model has none.
std::string token_text(const tokenizer::Vocab& vocab, tokenizer::TokenId id) {
  return id >= 0 && size_t(id) < vocab.size() ? vocab.tokens[size_t(id)] : std::string();
}

void print_prompt(const std::string& model, const std::string& chat_template_override, bool generation_prompt) {
  const std::string input{std::istreambuf_iterator<char>(std::cin), {}};
  const tokenizer::Vocab vocab = tokenizer::read_vocab(model);
  const chat::ChatTemplate chat_template = chat::select_chat_template(chat_template_override, vocab.chat_template);
  const jinja::Value messages = chat::messages_from_json(input, chat_template);
  chat::ChatContext context;
  context.bos_token = token_text(vocab, vocab.bos);
  context.eos_token = token_text(vocab, vocab.eos);
  context.add_generation_prompt = generation_prompt;
  fmt::print("{}", chat_template.render(messages, context));
}

}  // namespace

Command add_template_command(CLI::App& app) {
  CLI::App& command =
      *app.add_subcommand("template",
                          "Read a JSON array of OpenAI chat messages from stdin and print the prompt the model's chat "
                          "template makes of them (with the generation prompt, unless --no-generation-prompt)");
  auto model = std::make_shared<std::string>();
  auto chat_template = std::make_shared<std::string>();
  auto no_generation_prompt = std::make_shared<bool>(false);
  command.add_option("--model", *model, "A GGUF model or vocabulary file, or a Hugging Face model directory")
      ->required()
      ->check(CLI::ExistingPath);
  command.add_option("--chat-template", *chat_template,
                     "Use this template instead of the model's: a built-in name (chatml, gemma, llama2, llama3, "
                     "mistral, phi3, smollm2, zephyr) or a Jinja file");
  command.add_flag("--no-generation-prompt", *no_generation_prompt,
                   "End with the last message, without the assistant turn's opening");
  return {&command, [model, chat_template, no_generation_prompt] {
            try {
              print_prompt(*model, *chat_template, !*no_generation_prompt);
              return 0;
            } catch (const std::exception& e) {
              log::error("template: {}", e.what());
              return 1;
            }
          }};
}

}  // namespace rs
