// test_widgets.cpp — shared widgets in a headless frame: a number field applies a typed value when it is left,
// not on every keystroke.
#include <doctest/doctest.h>

#include <backends/imgui_impl_opengl3.h>
#include <imgui_internal.h>

#include <string>
#include <vector>

#include "app/gui/platform/platform.hpp"
#include "app/gui/widgets/widgets.hpp"

using namespace attnscope::gui;

TEST_CASE("int_row: typing 65536 applies once, when the field is left, never 6, 65, 655 or 6553 on the way") {
  std::string error;
  auto platform = create_headless_platform(480, 200, &error);
  REQUIRE_MESSAGE(platform != nullptr, error);  // display_main.cpp skips the suite without EGL
  ImGui::CreateContext();
  platform->imgui_init();
  REQUIRE(ImGui_ImplOpenGL3_Init("#version 330 core"));
  int64_t n = 1024;
  std::vector<int64_t> applied;  // every value int_row reported as changed
  // One frame: focus the field first when asked; `type` characters arrive during the frame.
  auto frame = [&](bool focus, const char* type) {
    platform->imgui_new_frame();
    ImGui_ImplOpenGL3_NewFrame();
    for (const char* c = type; c && *c; ++c) ImGui::GetIO().AddInputCharacter(static_cast<unsigned>(*c));
    ImGui::NewFrame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(480, 200));
    ImGui::Begin("widgets test", nullptr, ImGuiWindowFlags_NoDecoration);
    if (focus) ImGui::SetKeyboardFocusHere();
    if (int_row("N", "##n", &n, 1, 60, nullptr)) applied.push_back(n);
    ImGui::End();
    ImGui::Render();
    platform->end_frame();
  };
  frame(false, nullptr);
  frame(true, nullptr);  // the field takes the keyboard; its text is selected, so typing replaces it
  frame(false, nullptr);
  REQUIRE(ImGui::GetActiveID() != 0);
  for (const char* c : {"6", "5", "5", "3", "6"}) {
    frame(false, c);
    CHECK(n == 1024);  // nothing applied while typing
  }
  CHECK(applied.empty());
  ImGui::ClearActiveID();  // focus leaves the field (a click elsewhere)
  frame(false, nullptr);
  REQUIRE(applied.size() == 1);
  CHECK(applied[0] == 65536);
  CHECK(n == 65536);
  frame(false, nullptr);
  CHECK(applied.size() == 1);  // applied once
  ImGui_ImplOpenGL3_Shutdown();
  platform->imgui_shutdown();
  ImGui::DestroyContext();
}
