// main.cpp — the attnscope executable: dispatches to a command (app/cli/commands.hpp).
#include <csignal>

#include "app/cli/commands.hpp"

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) the kernel sends SIGXFSZ, which kills the process mid-write and leaves the
  // temporary file behind. Ignored, the write fails with EFBIG instead: core/atomic_file reports the reason and
  // removes the partial file.
  std::signal(SIGXFSZ, SIG_IGN);
  return attnscope::app::run_main(argc, argv);
}
