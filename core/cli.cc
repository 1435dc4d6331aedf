#include "core/cli.h"

#include <CLI/CLI.hpp>

#include "core/log.h"
#include "core/serve.h"

namespace rs {

int run_cli(int argc, char** argv) {
  CLI::App app{
      "ringserve: serves large language models over an OpenAI-compatible HTTP API.\n"
      "One binary: an io_uring HTTP front end, a continuous-batching engine, CPU and CUDA "
      "executors."};
  app.name("ringserve");
  app.set_version_flag("--version", RINGSERVE_VERSION);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();

  ServeOptions serve_options;
  CLI::App* serve_command = app.add_subcommand("serve", "Run the HTTP server (until SIGTERM/SIGINT)");
  add_serve_flags(*serve_command, serve_options);
  serve_command->add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::Level level;
  log::parse_level(log_level, level);
  log::set_level(level);

  if (serve_command->parsed()) return serve(serve_options);
  return 0;
}

}  // namespace rs
