// `ringserve pack`: store a ready-to-serve model at container build time.
#include <chrono>

#include "core/app/command.h"
#include "core/base/log.h"
#include "core/model/pack.h"

namespace rs {

Command add_pack_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "pack", "Convert a GGUF or a Hugging Face safetensors model into a GGUF with 4 KiB-aligned "
              "tensors (one streaming read at start-up), optionally quantizing its matrices");
  auto options = std::make_shared<model::PackOptions>();
  auto type = std::make_shared<std::string>("keep");
  command.add_option("input", options->input, "A .gguf file, a .safetensors file, or a model directory")
      ->required()
      ->check(CLI::ExistingPath);
  command.add_option("-o,--output", options->output, "The GGUF file to write")->required();
  command.add_option("--type", *type,
                     "Type of the F32/F16/BF16 matrices: keep, f16, q8_0 or q4_0 (norms and biases "
                     "are always f32; k-quants are copied)")
      ->check(CLI::IsMember({"keep", "f16", "q8_0", "q4_0"}))
      ->capture_default_str();
  return {&command, [options, type] {
            if (*type != "keep") options->type = model::tensor_type_from_name(*type);
            const auto start = std::chrono::steady_clock::now();
            try {
              model::pack_model(*options);
            } catch (const std::exception& e) {
              log::error("pack: {}", e.what());
              return 1;
            }
            log::info("wrote {} in {:.1f} s", options->output,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            return 0;
          }};
}

}  // namespace rs
