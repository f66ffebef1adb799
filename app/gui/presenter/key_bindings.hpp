// key_bindings.hpp — every key the app answers to, in one table: the F1 overlay draws it, the presenter's key
// handler dispatches from it, and a test checks that no key is bound twice. Keys are named here, not by ImGui or
// GLFW (models library: no ImGui); app/gui/presenter/keys_glfw.cpp maps them to the window's key codes.
// Letters and symbols are positions on a US keyboard (GLFW reports keys by position).
#pragma once
#include <string>
#include <vector>

namespace attnscope::gui {

enum class Key { F1, F11, F12, S, O, Z, L, Equal, Minus, Num0, KeypadAdd, KeypadSubtract, Keypad0, Space, Left, Right, Escape, PageDown, PageUp };

struct KeyChord {
  Key key;
  bool ctrl = false;
  bool shift = false;
  bool operator==(const KeyChord&) const = default;
};
std::string key_chord_text(const KeyChord& chord);  // "Ctrl Shift Z", "F11", "keypad +"

enum class KeyAction {
  ShowKeys,        // F1: this table as an overlay
  CloseOverlay,    // Esc: the overlay or the file dialog
  FullScreen,      // F11
  FontBigger,      // Ctrl + (Ctrl =, keypad +)
  FontSmaller,     // Ctrl −, keypad −
  FontReset,       // Ctrl 0
  Spotlight,       // L: the pointer spotlight
  SaveExperiment,  // Ctrl S
  OpenExperiment,  // Ctrl O
  Undo,            // Ctrl Z
  Redo,            // Ctrl Shift Z
  Screenshot,      // F12 (capture)
  LessonNext,      // Space, → (lessons)
  LessonBack,      // ← (lessons)
  NextMode,        // Ctrl Page Down: the tab to the right (wraps)
  PreviousMode,    // Ctrl Page Up: the tab to the left (wraps)
};

struct KeyBinding {
  KeyAction action;
  std::vector<KeyChord> chords;  // any of them
  const char* keys;              // as the overlay shows them: "Ctrl +  /  Ctrl −"
  const char* what;              // what it does, one short line
  bool while_typing;             // also when a text field has the keyboard (plain keys are not)
};

const std::vector<KeyBinding>& key_bindings();

}  // namespace attnscope::gui
