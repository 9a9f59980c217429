// A scratch directory private to this test process. ctest runs tests as separate processes in
// parallel (and several builds may test at once), so shared temp paths would let one process
// rewrite a model another has mapped (SIGBUS).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace bitnet {

// Created on first use, removed with everything in it when the process exits.
inline std::filesystem::path test_tmp_dir() {
  struct Dir {
    std::filesystem::path path;
    Dir() : path(std::filesystem::temp_directory_path() / ("bitnet_test_" + std::to_string(getpid()))) {
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

}  // namespace bitnet
