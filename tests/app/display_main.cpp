// display_main.cpp — the runner of the app tests that draw real frames (headless EGL). Without an EGL display the
// whole suite reports itself skipped through ctest's skip code (77) instead of passing with no checks; the models'
// tests (tests/app/models/, attnscope_app_model_tests) need no display and always run.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <string>

#include "app/gui/platform/platform.hpp"

int main(int argc, char** argv) {
  std::string error;
  if (!attnscope::gui::create_headless_platform(64, 64, &error)) {
    std::cout << "attnscope_app_tests: skipped, no headless EGL display: " << error << "\n";
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
