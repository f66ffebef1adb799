// test_util.hpp — small helpers the suites share: error lists, scratch folders, running a command.
#pragma once
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
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

// What a command printed (stdout and stderr together) and how it ended.
struct CommandResult {
  bool started = false;  // the shell could be started
  int status = -1;       // exit status; -1 when killed by a signal (a crash)
  std::string output;
  double seconds = 0;    // wall time
};

// Runs `command` through /bin/sh with stderr joined to stdout, to the end.
inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  const auto t0 = std::chrono::steady_clock::now();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  r.started = true;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int raw = pclose(pipe);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

}  // namespace attnscope::test
