// screenshot.hpp — screenshots: the whole window or one view, panel or figure, drawn again off-screen at 1×, 2×
// or 4× with the fonts rasterised at that scale (UiState::render_scale), written as a PNG carrying the sidecar
// (sidecar.hpp) in an iTXt chunk, with the sidecar beside it as JSON.
//
//   F12                    capture now with the dialog's settings (default: the whole window at 2×)
//   the camera button      (right end of the tab row) the dialog: what to capture, the scale, the file
//   attnscope render       the same writer, headless: --scale, --target, --sidecar
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "app/gui/capture/sidecar.hpp"

namespace attnscope::gui {
class App;
class Platform;
struct ViewContext;
struct UiState;
}  // namespace attnscope::gui

namespace attnscope::gui::capture {

// Writes `rgba` as a PNG with the sidecar in its "attnscope" text chunk, and (write_sidecar) the sidecar as JSON
// beside it (x.png -> x.json). "" on success, else why (naming the file); a sidecar that cannot be written takes
// the PNG with it (both files or neither).
std::string write_screenshot(const std::string& path, const std::vector<uint8_t>& rgba, int width, int height,
                             const CaptureSidecar& sidecar, bool write_sidecar);

// The capture targets of the frame just drawn: "window", then the recorded elements (UiState::element_rects, e.g.
// "view"), then the figures published in that frame (figure ids).
std::vector<std::string> capture_targets(const UiState& ui, int frame);
// Crops `rgba` (width x height, the frame drawn at `scale`) to `target`'s rectangle; "window" leaves it whole.
// false with `error` naming the target and the choices when it is not one.
bool crop_to_target(const UiState& ui, int frame, const std::string& target, std::vector<uint8_t>& rgba, int& width,
                    int& height, std::string* error);

// The interactive side (App::frame calls these): the camera button in the tab row, the F12 key and the dialog,
// drawn inside the main window; and, after the frame has been presented, the capture itself when one is pending.
void camera_tab_button(ViewContext& ctx);
void draw_screenshot_dialog(ViewContext& ctx);
void run_pending_screenshot(App& app, Platform& platform);
// The screenshot settings and last message are the process's; a new App (a new ImGui context, whose clock starts
// again) starts from none, so an earlier app's message is never shown in it.
void reset_screenshot_state();
// Asks for a capture after the next frame (what F12 does, with these settings); the result is then
// last_screenshot_message() (for tests, lessons and scenes).
void request_screenshot(const std::string& path, const std::string& target, int scale);
const std::string& last_screenshot_message();

// For `attnscope render`: the figures of the frame just drawn ("id  title  (svg, csv)" lines), and the export
// of one of them (an unknown id names the choices). "" on success.
std::string list_current_figures();
std::string export_current_figure(const std::string& id, const std::string& path);

}  // namespace attnscope::gui::capture
