// `ringserve synth`: a Llama-architecture GGUF with deterministic random weights.
#include <chrono>

#include "core/app/command.h"
#include "core/base/log.h"
#include "core/model/model_error.h"
#include "core/model/synth.h"

namespace rs {

Command add_synth_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "synth", "Write a Llama-architecture GGUF with deterministic random weights (same arguments, "
               "same bytes; llama.cpp loads it too)");
  auto options = std::make_shared<model::SynthOptions>();
  auto type = std::make_shared<std::string>("f32");
  command.add_option("--preset", options->preset,
                     "tiny (the built-in demo model), small, 1b (Llama 3.2 1B shapes, ~0.5 GB in "
                     "q4_0) or 8b (Llama 3 8B shapes)")
      ->check(CLI::IsMember({"tiny", "small", "1b", "8b"}))
      ->capture_default_str();
  command.add_option("--type", *type, "Weight type; norms stay f32")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0"}))
      ->capture_default_str();
  command.add_option("--seed", options->seed, "Seed of the random weights")->capture_default_str();
  command.add_option("--vocab-from", options->vocab_from,
                     "Copy the tokenizer metadata of this GGUF (default: 256 byte tokens, "
                     "the space marker and <unk> <s> </s>)")
      ->check(CLI::ExistingFile);
  command.add_option("-o,--output", options->output, "The GGUF file to write")->required();
  return {&command, [options, type] {
            options->type = *model::tensor_type_from_name(*type);  // CLI11 checked the name
            const auto start = std::chrono::steady_clock::now();
            try {
              model::synth_model(*options);
            } catch (const std::exception& e) {
              log::error("synth: {}", e.what());
              return 1;
            }
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            log::info("wrote {} ({} preset, {}) in {:.2f} s", options->output, options->preset, *type,
                      seconds);
            return 0;
          }};
}

}  // namespace rs
