// main.cpp — the attnscope executable: dispatches to a command (app/cli/commands.hpp).
#include "app/cli/commands.hpp"

int main(int argc, char** argv) { return attnscope::app::run_main(argc, argv); }
