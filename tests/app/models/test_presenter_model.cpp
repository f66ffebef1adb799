// test_presenter_model.cpp — the presenter's tables without a display: every key is bound once and every action
// has a key and words; both themes set every colour, and text, muted text, errors and warnings keep their
// contrast on the window background (dark for a projector, light for print).
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "app/gui/presenter/key_bindings.hpp"
#include "app/gui/presenter/palette.hpp"

using namespace attnscope;
using namespace attnscope::gui;

TEST_CASE("key bindings: the table is not empty, no key is bound twice, every row says what it does") {
  const auto& table = key_bindings();
  REQUIRE(table.size() >= 12);
  std::set<std::string> chords;
  std::set<int> actions;
  for (const KeyBinding& b : table) {
    CAPTURE(b.keys);
    CHECK(!b.chords.empty());
    CHECK(std::string(b.keys).size() > 0);
    CHECK(std::string(b.what).size() > 5);
    CHECK(actions.insert(static_cast<int>(b.action)).second);  // one row per action
    for (const KeyChord& c : b.chords) {
      const std::string text = key_chord_text(c);
      CAPTURE(text);
      CHECK(chords.insert(text).second);  // the same key with the same modifiers appears once
    }
  }
  // The keys the issue names are all there.
  for (const char* k : {"F1", "F11", "F12", "Ctrl S", "Ctrl O", "Ctrl Z", "Ctrl Shift Z", "Ctrl =", "Ctrl −",
                        "Ctrl 0", "Space", "←", "→", "Esc"})
    CHECK_MESSAGE(chords.count(k) == 1, k);
  // Plain keys (no Ctrl) never act while a text field has the keyboard: typing "L" or a space must not toggle.
  for (const KeyBinding& b : table)
    for (const KeyChord& c : b.chords)
      if (!c.ctrl && (c.key == Key::L || c.key == Key::Space || c.key == Key::Left || c.key == Key::Right))
        CHECK_FALSE(b.while_typing);
}

TEST_CASE("palette: both themes set every colour and keep text readable") {
  for (Theme theme : {Theme::Dark, Theme::Light}) {
    CAPTURE(theme_name(theme));
    const Palette& p = palette_for(theme);
    for (const auto& named_field : palette_fields()) {
      const char* name = named_field.first;  // not a structured binding: clang 14 cannot capture one (CAPTURE)
      CAPTURE(name);
      CHECK(channel(p.*named_field.second, 3) > 0);  // set (a zero-initialised field would be fully transparent)
    }
    CHECK(contrast_ratio(p.text, p.window_bg) >= 7.0);  // WCAG AAA
    CHECK(contrast_ratio(p.text, p.child_bg) >= 7.0);
    CHECK(contrast_ratio(p.text, p.frame_bg) >= 7.0);
    CHECK(contrast_ratio(p.text, p.button) >= 4.5);
    CHECK(contrast_ratio(p.text_on_plot, p.plot_bg) >= 7.0);
    for (PackedColor c : {p.text_muted, p.error_text, p.warning_text}) CHECK(contrast_ratio(c, p.window_bg) >= 4.5);
    CHECK(contrast_ratio(p.outline, p.plot_bg) >= 7.0);
  }
  // The field list names every field once (a field added to Palette but not to the list would go unchecked).
  CHECK(palette_fields().size() * sizeof(PackedColor) == sizeof(Palette));
  // The themes differ where it matters: a light background and dark text, and the reverse.
  CHECK(contrast_ratio(palette_for(Theme::Dark).window_bg, palette_for(Theme::Light).window_bg) > 10);
  set_palette_theme(Theme::Light);
  CHECK(palette().window_bg == palette_for(Theme::Light).window_bg);
  set_palette_theme(Theme::Dark);
  CHECK(palette_theme() == Theme::Dark);
}
