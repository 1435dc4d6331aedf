#pragma once
// A subcommand of the one binary: its CLI11 parser and what runs it.
#include <CLI/CLI.hpp>

#include <functional>

namespace rs {

struct Command {
  CLI::App* parser;
  std::function<int()> run;  // returns the exit code
};

Command add_serve_command(CLI::App& app);
Command add_synth_command(CLI::App& app);
Command add_pack_command(CLI::App& app);
Command add_tokenize_command(CLI::App& app);
Command add_detokenize_command(CLI::App& app);
Command add_inspect_command(CLI::App& app);
Command add_load_command(CLI::App& app);
Command add_run_command(CLI::App& app);
Command add_template_command(CLI::App& app);
Command add_warm_command(CLI::App& app);
Command add_plan_command(CLI::App& app);

}  // namespace rs
