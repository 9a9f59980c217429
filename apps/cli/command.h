// Subcommand registry for the `bitnet` executable: each cmd_*.cpp registers itself with
// BITNET_COMMAND, so adding a subcommand touches only its own file.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace bitnet::cli {

// setup() adds options to the subcommand and returns the function that runs it (exit code).
using CommandSetup = std::function<std::function<int()>(CLI::App& sub)>;

struct CommandInfo {
  std::string name, help;
  CommandSetup setup;
};

std::vector<CommandInfo>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string help, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

// Prints "bitnet: error: <msg>" to stderr and returns the exit code for user errors (1).
int fail(const std::string& msg);

}  // namespace bitnet::cli

#define BITNET_CLI_CONCAT_(a, b) a##b
#define BITNET_CLI_CONCAT(a, b) BITNET_CLI_CONCAT_(a, b)
// The setup lambda is passed as __VA_ARGS__ so commas inside it need no extra parentheses.
#define BITNET_COMMAND(name, help, ...) \
  static ::bitnet::cli::CommandRegistrar BITNET_CLI_CONCAT(bitnet_cmd_, __LINE__)(name, help, __VA_ARGS__)
