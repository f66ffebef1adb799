// test_widgets.cpp — shared widgets in a headless frame: a number field applies a typed value when it is left,
// not on every keystroke; vertical labels are never drawn outside their clip rectangle.
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

TEST_CASE("draw_text_vertical: a label that would stick out of the clip rectangle is left out, one inside is drawn") {
  std::string error;
  auto platform = create_headless_platform(480, 200, &error);
  REQUIRE_MESSAGE(platform != nullptr, error);
  ImGui::CreateContext();
  platform->imgui_init();
  REQUIRE(ImGui_ImplOpenGL3_Init("#version 330 core"));
  platform->imgui_new_frame();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui::NewFrame();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(ImVec2(480, 200));
  ImGui::Begin("vertical text test", nullptr, ImGuiWindowFlags_NoDecoration);
  ImDrawList* list = ImGui::GetWindowDrawList();
  list->PushClipRect(ImVec2(0, 0), ImVec2(480, 150), false);  // a panel whose lower part is scrolled out of view
  const int before = list->VtxBuffer.Size;
  draw_text_vertical(list, ImVec2(10, 140), IM_COL32_WHITE, "time (ms)");  // wholly inside: drawn
  const int after_inside = list->VtxBuffer.Size;
  draw_text_vertical(list, ImVec2(60, 190), IM_COL32_WHITE, "time (ms)");  // its bottom below the clip: left out
  const int after_outside = list->VtxBuffer.Size;
  list->PopClipRect();
  CHECK(after_inside > before);
  CHECK(after_outside == after_inside);
  ImGui::End();
  ImGui::Render();
  platform->end_frame();
  ImGui_ImplOpenGL3_Shutdown();
  platform->imgui_shutdown();
  ImGui::DestroyContext();
}

TEST_CASE("checked_int_field: a typed value that breaks the rule is not applied; the reason stays until a valid one") {
  std::string error;
  auto platform = create_headless_platform(480, 200, &error);
  REQUIRE_MESSAGE(platform != nullptr, error);
  ImGui::CreateContext();
  platform->imgui_init();
  REQUIRE(ImGui_ImplOpenGL3_Init("#version 330 core"));
  int64_t d = 64;
  std::string problem;
  int applied = 0;
  auto frame = [&](bool focus, const char* type) {
    platform->imgui_new_frame();
    ImGui_ImplOpenGL3_NewFrame();
    for (const char* c = type; c && *c; ++c) ImGui::GetIO().AddInputCharacter(static_cast<unsigned>(*c));
    ImGui::NewFrame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(480, 200));
    ImGui::Begin("checked test", nullptr, ImGuiWindowFlags_NoDecoration);
    if (focus) ImGui::SetKeyboardFocusHere();
    if (checked_int_field("##d", &d, 0, nullptr, int_range_rule(1, 256), &problem)) ++applied;
    ImGui::End();
    ImGui::Render();
    platform->end_frame();
  };
  auto type_and_leave = [&](const char* text) {
    frame(true, nullptr);  // focus: the field's text is selected, typing replaces it
    frame(false, nullptr);
    REQUIRE(ImGui::GetActiveID() != 0);
    frame(false, text);
    ImGui::ClearActiveID();  // focus leaves the field
    frame(false, nullptr);
  };
  frame(false, nullptr);
  type_and_leave("0");
  CHECK(d == 64);  // the last valid value stays
  CHECK(applied == 0);
  CHECK(problem.find("0 is out of range") != std::string::npos);
  CHECK(problem.find("1 to 256") != std::string::npos);
  frame(false, nullptr);
  CHECK_FALSE(problem.empty());  // still said on later frames, beside the field
  type_and_leave("4096");
  CHECK(d == 64);
  CHECK(problem.find("4096") != std::string::npos);
  type_and_leave("128");
  CHECK(d == 128);
  CHECK(applied == 1);
  CHECK(problem.empty());
  ImGui_ImplOpenGL3_Shutdown();
  platform->imgui_shutdown();
  ImGui::DestroyContext();
}
