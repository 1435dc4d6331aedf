// `ringserve synth`: a Llama-architecture or BERT-family GGUF with deterministic random weights.
#include <chrono>

#include "core/app/command.h"
#include "core/base/log.h"
#include "core/model/model_error.h"
#include "core/model/synth.h"

namespace rs {

Command add_synth_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "synth", "Write a Llama-architecture model or a BERT-family sentence encoder as a GGUF with deterministic "
               "random weights (same arguments, same bytes; llama.cpp loads it too)");
  auto options = std::make_shared<model::SynthOptions>();
  auto type = std::make_shared<std::string>("f32");
  auto architecture = std::make_shared<std::string>("llama");
  auto pooling = std::make_shared<std::string>();
  command.add_option("--arch", *architecture, "llama (a language model) or bert (a sentence encoder)")
      ->check(CLI::IsMember({"llama", "bert"}))
      ->capture_default_str();
  command.add_option("--preset", options->preset,
                     "llama: tiny (the built-in demo model), small, 1b (Llama 3.2 1B shapes, ~0.5 GB in q4_0) or 8b "
                     "(Llama 3 8B shapes); bert: tiny, minilm (all-MiniLM-L6-v2 shapes), bge-small or bge-base")
      ->check(CLI::IsMember({"tiny", "small", "1b", "8b", "minilm", "bge-small", "bge-base"}))
      ->capture_default_str();
  command.add_option("--type", *type, "Weight type (bert: f32, f16 or q8_0); norms and biases stay f32")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0"}))
      ->capture_default_str();
  command.add_option("--pooling", *pooling, "bert: mean or cls instead of the preset's (bge: cls, others: mean)")
      ->check(CLI::IsMember({"mean", "cls"}));
  command.add_option("--seed", options->seed, "Seed of the random weights")->capture_default_str();
  command.add_option("--vocab-from", options->vocab_from,
                     "Copy the tokenizer metadata of this GGUF (default: llama, 256 byte tokens, the space marker "
                     "and <unk> <s> </s>; bert, a generated WordPiece vocabulary)")
      ->check(CLI::ExistingFile);
  command.add_option("-o,--output", options->output, "The GGUF file to write")->required();
  return {&command, [options, architecture, type, pooling] {
            // CLI11 checked the names.
            options->architecture = *architecture == "bert" ? model::SynthArchitecture::bert
                                                            : model::SynthArchitecture::llama;
            options->type = *model::tensor_type_from_name(*type);
            if (!pooling->empty()) options->pooling = *pooling == "cls" ? model::Pooling::cls : model::Pooling::mean;
            const auto start = std::chrono::steady_clock::now();
            try {
              model::synth_model(*options);
            } catch (const std::exception& e) {
              log::error("synth: {}", e.what());
              return 1;
            }
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            log::info("wrote {} ({} {} preset, {}) in {:.2f} s", options->output, *architecture, options->preset,
                      *type, seconds);
            return 0;
          }};
}

}  // namespace rs
