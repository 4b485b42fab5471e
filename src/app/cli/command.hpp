// app/cli/command.hpp: how a subcommand plugs into the `mxsec` binary.
//
// Each cmd_*.cpp defines `void add_<name>(CLI::App& app, Context& ctx)` that
// adds its subcommand (with --help, --json and a callback that sets
// ctx.exit_code) and registers it with MXSEC_REGISTER_COMMAND.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "app/cli/context.hpp"

namespace mxsec::cli {

using CommandAdder = void (*)(CLI::App&, Context&);
std::vector<CommandAdder>& command_registry();

struct CommandRegistrar {
  explicit CommandRegistrar(CommandAdder adder) { command_registry().push_back(adder); }
};

}  // namespace mxsec::cli

#define MXSEC_REGISTER_COMMAND(fn) \
  static const ::mxsec::cli::CommandRegistrar mxsec_registrar_##fn{&fn}
