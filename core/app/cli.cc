#include "core/app/cli.h"

#include <CLI/CLI.hpp>

#include <vector>

#include "core/app/command.h"
#include "core/base/log.h"

namespace rs {

int run_cli(int argc, char** argv) {
  CLI::App app{
      "ringserve: serves large language models over an OpenAI-compatible HTTP API.\n"
      "One binary: an io_uring HTTP front end, a continuous-batching engine, CPU and CUDA "
      "executors, and the tools to make, inspect and load model files."};
  app.name("ringserve");
  app.set_version_flag("--version", RINGSERVE_VERSION);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();

  const std::vector<Command> commands = {add_serve_command(app), add_inspect_command(app), add_load_command(app),
                                         add_run_command(app), add_synth_command(app), add_pack_command(app),
                                         add_tokenize_command(app), add_detokenize_command(app),
                                         add_template_command(app), add_warm_command(app),
                                         add_plan_command(app)};
  for (const Command& command : commands) {
    command.parser->add_option("--log-level", log_level, "debug, info, warn or error")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::Level level;
  log::parse_level(log_level, level);
  log::set_level(level);

  for (const Command& command : commands) {
    if (command.parser->parsed()) return command.run();
  }
  return 0;
}

}  // namespace rs
