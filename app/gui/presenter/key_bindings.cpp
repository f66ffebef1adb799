// key_bindings.cpp — the table (see key_bindings.hpp).
#include "app/gui/presenter/key_bindings.hpp"

namespace attnscope::gui {

std::string key_chord_text(const KeyChord& chord) {
  static const char* const names[] = {"F1", "F11", "F12", "S", "O", "Z", "L", "=", "−", "0", "keypad +", "keypad −",
                                      "keypad 0", "Space", "←", "→", "Esc", "Page Down", "Page Up"};
  std::string text;
  if (chord.ctrl) text += "Ctrl ";
  if (chord.shift) text += "Shift ";
  return text + names[static_cast<int>(chord.key)];
}

const std::vector<KeyBinding>& key_bindings() {
  static const std::vector<KeyBinding> table = {
      {KeyAction::ShowKeys, {{Key::F1}}, "F1", "show or hide this list of keys", true},
      {KeyAction::CloseOverlay, {{Key::Escape}}, "Esc", "close this list or the file dialog", true},
      {KeyAction::FullScreen, {{Key::F11}}, "F11", "full screen on the current monitor, and back", true},
      {KeyAction::FontBigger,
       {{Key::Equal, true}, {Key::Equal, true, true}, {Key::KeypadAdd, true}, {Key::KeypadAdd}},
       "Ctrl +  (Ctrl =, keypad +)", "larger text (×1.1, up to 4×)", false},
      {KeyAction::FontSmaller, {{Key::Minus, true}, {Key::KeypadSubtract, true}, {Key::KeypadSubtract}},
       "Ctrl −  (keypad −)", "smaller text (÷1.1, down to 0.5×)", false},
      {KeyAction::FontReset, {{Key::Num0, true}, {Key::Keypad0, true}}, "Ctrl 0", "text at its normal size", true},
      {KeyAction::Spotlight, {{Key::L}}, "L", "spotlight on the pointer (for a projector)", false},
      {KeyAction::SaveExperiment, {{Key::S, true}}, "Ctrl S", "save the experiment as JSON", true},
      {KeyAction::OpenExperiment, {{Key::O, true}}, "Ctrl O", "open an experiment (JSON)", true},
      {KeyAction::Undo, {{Key::Z, true}}, "Ctrl Z", "undo the last experiment edit", false},
      {KeyAction::Redo, {{Key::Z, true, true}}, "Ctrl Shift Z", "redo it", false},
      {KeyAction::Screenshot, {{Key::F12}}, "F12", "screenshot (PNG with the experiment in it)", true},
      {KeyAction::LessonNext, {{Key::Space}, {Key::Right}}, "Space  /  →", "lesson: next step", false},
      {KeyAction::LessonBack, {{Key::Left}}, "←", "lesson: step back", false},
      {KeyAction::NextMode, {{Key::PageDown, true}}, "Ctrl Page Down", "next tab (mode)", true},
      {KeyAction::PreviousMode, {{Key::PageUp, true}}, "Ctrl Page Up", "previous tab (mode)", true},
  };
  return table;
}

}  // namespace attnscope::gui
