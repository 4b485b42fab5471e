// app/cli/cmd_config.cpp: `mxsec config` - the configuration of `mxsec serve`
// (docs/configuration.md).
//
//   mxsec config check [--config FILE]   "FILE: ok" on stdout, exit 0; or the
//                                        first problem on stderr as
//                                        "FILE:LINE: key: problem", exit 2
//   mxsec config show [--config FILE]    the effective configuration, every
//                                        key with its value, as TOML (exit 0;
//                                        an invalid file is reported as by check)
// Without --config both use the built-in defaults, as `serve` would.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "app/cli/command.hpp"
#include "config/server_config.hpp"

namespace mxsec::cli {
namespace {

// The file's configuration, or the defaults. A problem is printed bare,
// like a compiler diagnostic, so editors can jump to FILE:LINE.
std::optional<config::ServerConfig> effective_config(Context& ctx, const std::string& path) {
  if (path.empty()) return config::default_config();
  auto c = config::load_config(path);
  if (!c) {
    std::cerr << c.error().message << std::endl;
    ctx.exit_code = kExitError;
    return std::nullopt;
  }
  return std::move(*c);
}

void add_config(CLI::App& app, Context& ctx) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("config", "Check or show the configuration of mxsec serve");
  cmd->require_subcommand(1);
  auto add = [&](const char* name, const char* help) {
    CLI::App* sub = cmd->add_subcommand(name, help);
    sub->add_option("--config", *path, "Configuration file (TOML); default: the built-in defaults")->type_name("FILE");
    return sub;
  };

  add("check", "Check a configuration file: every key, type, range and cross-reference")->callback([&ctx, path] {
    if (effective_config(ctx, *path)) std::cout << (path->empty() ? "(defaults)" : *path) << ": ok" << std::endl;
  });
  add("show", "Print the effective configuration with every key, as TOML")->callback([&ctx, path] {
    if (auto c = effective_config(ctx, *path)) std::cout << config::render_config(*c) << std::flush;
  });
}

MXSEC_REGISTER_COMMAND(add_config);

}  // namespace
}  // namespace mxsec::cli
