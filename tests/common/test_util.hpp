// test_util.hpp — small helpers the suites share: error lists and scratch folders.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace attnscope::test {

// True when some message contains `needle` (errors are checked by the words that matter, not whole sentences).
inline bool any_contains(const std::vector<std::string>& messages, const std::string& needle) {
  for (const auto& m : messages)
    if (m.find(needle) != std::string::npos) return true;
  return false;
}

// An empty folder in the temporary directory, named after the test and this process.
inline std::filesystem::path fresh_dir(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("attnscope_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// How many entries a folder holds (a failed write must leave no temporary file behind).
inline int entries(const std::filesystem::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace attnscope::test
