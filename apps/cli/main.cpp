// `bitnet` executable: dispatches to the subcommands registered in cmd_*.cpp.
#include <algorithm>
#include <cstdio>
#include <exception>

#include "command.h"

namespace bitnet::cli {

std::vector<CommandInfo>& command_registry() {
  static std::vector<CommandInfo> r;
  return r;
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "bitnet: error: %s\n", msg.c_str());
  return 1;
}

}  // namespace bitnet::cli

int main(int argc, char** argv) {
  using namespace bitnet::cli;
  CLI::App app{"bitnet: inference for ternary (1.58-bit) BitNet models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bitnet-cxx 0.1.0");
  auto& reg = command_registry();
  std::sort(reg.begin(), reg.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> subs;
  for (auto& c : reg) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    subs.emplace_back(sub, c.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : subs)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 1;
}
