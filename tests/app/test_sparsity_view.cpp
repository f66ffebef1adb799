// test_sparsity_view.cpp — the Sparsity mode: painted-grid operations and their text form, the numbers the
// worker computes for a pattern (densities against core's block mask and exact pair count, predicted
// speed-up against the cost model, measured runs), and in the App: a grid painted in the Sparsity tab
// survives switching to Explore, which computes its picture with that grid.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/views/sparsity/model.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

TEST_CASE("Sparsity mode: a grid painted there survives switching modes and Explore computes with it") {
  std::string error;
  auto platform = create_headless_platform(1280, 720, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 256;
  config.mask = "window:16";
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  app.ui().requested_mode = "Sparsity";
  auto run_until = [&](auto done) {
    const auto start = std::chrono::steady_clock::now();
    while (!done()) {
      app.frame(*platform);
      if (std::chrono::steady_clock::now() - start > std::chrono::seconds(90)) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  };
  const auto& sv = app.ui().sparsity_view;
  REQUIRE(run_until([&] { return app.settled() && sv.numbers[0] && sv.numbers[1]; }));
  CHECK(mode_names()[static_cast<size_t>(app.ui().mode)] == "Sparsity");
  CHECK(sv.numbers[0]->measured);
  const double density_before = sv.numbers[0]->element_density();

  // Paint two blocks onto pattern A (the experiment's mask), as the grid panel does.
  UiState& ui = app.ui();
  REQUIRE(ensure_grid_term({ui.terms, ui.draft.causal, ui.grid}, 256, 64));
  paint_cell(ui.grid, 0, 3, true);
  paint_cell(ui.grid, 3, 0, true);
  ui.draft.mask = mask_text_from_editor(ui);
  ui.request(UiCommand::ApplyDraft);
  ui.sparsity_view.changed_at = -1e9;
  REQUIRE(run_until([&] {
    return app.settled() && sv.numbers[0] && sv.numbers[0]->element_density() > density_before;
  }));
  // Two 64 x 64 blocks far from the window add exactly 2·64² allowed pairs.
  CHECK(sv.numbers[0]->block_mask.stats.allowed_pairs ==
        static_cast<int64_t>(density_before * 256 * 256 + 0.5) + 2 * 64 * 64);

  // To Explore: the grid is still there, and the picture was computed with it.
  ui.requested_mode = "Explore";
  REQUIRE(run_until([&] { return app.settled() && mode_names()[static_cast<size_t>(app.ui().mode)] == "Explore"; }));
  REQUIRE(app.state().shown);
  const MaskSpec& shown = app.state().shown->spec.mask;
  CHECK(shown.grid.rows == 4);
  CHECK(shown.grid.cells == app.ui().grid.cells);
  const ScoreImage& img = app.state().shown->image;
  REQUIRE(img.rows == 256);
  CHECK_FALSE(std::isnan(img.values[static_cast<size_t>(10 * 256 + 200)]));  // painted block (0, 3)
  CHECK(std::isnan(img.values[static_cast<size_t>(10 * 256 + 100)]));        // not painted, outside the window
  app.shutdown();
}
