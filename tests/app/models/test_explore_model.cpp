// test_explore_model.cpp — the Explore heatmap's model without a display: zoom and pan arithmetic, cell lookup.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <tuple>
#include <cmath>
#include <thread>

#include "app/gui/views/explore/model.hpp"
#include "core/cpu_backend.hpp"
#include "core/reference.hpp"

using namespace attnscope;
using namespace attnscope::gui;

TEST_CASE("zoom arithmetic: the point under the cursor stays, windows stay inside the matrix") {
  const int64_t n = 1000;
  ViewWindow w = full_window(n, n);
  CHECK(is_full_window(w, n, n));
  // Zooming ×4 about (q, k) = (250, 700): the point keeps its fraction across the window.
  const ViewWindow z = zoom_about(w, 4.0, 250.0, 700.0, n, n);
  CHECK(z.span_q() == doctest::Approx(250.0));
  CHECK(z.span_k() == doctest::Approx(250.0));
  CHECK((250.0 - z.q0) / z.span_q() == doctest::Approx(0.25));
  CHECK((700.0 - z.k0) / z.span_k() == doctest::Approx(0.7));
  CHECK_FALSE(is_full_window(z, n, n));
  // Zooming back out by the same factor returns the full matrix.
  const ViewWindow back = zoom_about(z, 0.25, 250.0, 700.0, n, n);
  CHECK(back.q0 == doctest::Approx(0.0));
  CHECK(back.k1 == doctest::Approx(1000.0));
  // Deep zoom stops at the smallest span, still containing the point.
  ViewWindow deep = w;
  for (int i = 0; i < 40; ++i) deep = zoom_about(deep, 2.0, 999.5, 0.5, n, n);
  CHECK(deep.span_q() == doctest::Approx(kMinViewSpan));
  CHECK(deep.span_k() == doctest::Approx(kMinViewSpan));
  CHECK(deep.q0 <= 999.5);
  CHECK(deep.q1 >= 999.5);
  CHECK(deep.q1 <= 1000.0);
  CHECK(deep.k0 >= 0.0);
  CHECK(deep.k0 <= 0.5);
  CHECK(deep.k1 >= 0.5);
  // Panning past the edge is clamped, the span kept.
  const ViewWindow p = pan_window(z, 5000.0, -5000.0, n, n);
  CHECK(p.q1 == doctest::Approx(1000.0));
  CHECK(p.k0 == doctest::Approx(0.0));
  CHECK(p.span_q() == doctest::Approx(z.span_q()));
  // Requests round outwards to whole tokens.
  const WindowRequest r = window_request({10.4, 20.6, 30.2, 40.0}, n, n);
  CHECK(r == WindowRequest{10, 20, 31, 40});
}

TEST_CASE("cell_at agrees with score_image's split of a window into cells, odd sizes included") {
  for (auto [q0, q1, rows] : {std::tuple{0, 1000, 512}, std::tuple{17, 4114, 511}, std::tuple{3, 20, 17},
                              std::tuple{5, 6, 1}}) {
    ScoreImage img;
    img.q0 = q0;
    img.q1 = q1;
    img.k0 = q0;
    img.k1 = q1;
    img.rows = img.cols = rows;
    for (int64_t q = q0; q < q1; ++q) {
      CellHit hit;
      REQUIRE(cell_at(img, static_cast<double>(q) + 0.5, static_cast<double>(q), &hit));
      // Cell r pools rows [q0 + wq·r/rows, q0 + wq·(r+1)/rows).
      const int64_t wq = q1 - q0;
      CHECK(q0 + wq * hit.row / rows <= q);
      CHECK(q < q0 + wq * (hit.row + 1) / rows);
      CHECK(hit.q_begin <= q);
      CHECK(q <= hit.q_end);
      CHECK(hit.col == hit.row);
    }
    CellHit outside;
    CHECK_FALSE(cell_at(img, static_cast<double>(q1), static_cast<double>(q0), &outside));
  }
}

TEST_CASE("explore_field_of: each of to_spec's problems is drawn beside the field it names") {
  ExperimentConfig c;
  c.n = 0;
  c.head_dim = 0;
  c.heads = 8;
  c.kv_heads = 3;
  c.mask = "window:-3";
  SpecLimits limits;
  const SpecResult bad = to_spec(c, limits);
  REQUIRE_FALSE(bad.ok);
  bool n = false, d = false, kv = false;
  for (const std::string& e : bad.errors) {
    const ExploreField f = explore_field_of(e);
    n |= f == ExploreField::N;
    d |= f == ExploreField::HeadDim;
    kv |= f == ExploreField::KvHeads;
    CHECK(f != ExploreField::Other);  // every validation problem has a field to sit beside
  }
  CHECK(n);
  CHECK(d);
  CHECK(kv);  // "not a multiple of kv_heads": fixed at the KV heads field
  // A too-large N for the score matrix is N's problem.
  ExperimentConfig big;
  big.n = 65536;
  SpecLimits small;
  small.score_matrix_bytes = 1 << 20;
  for (const std::string& e : to_spec(big, small).errors) CHECK(explore_field_of(e) == ExploreField::N);
  // Mask problems sit under the mask editor.
  ExperimentConfig mask;
  mask.mask = "window:-3";
  const SpecResult m = to_spec(mask, limits);
  REQUIRE_FALSE(m.errors.empty());
  for (const std::string& e : m.errors) CHECK(explore_field_of(e) == ExploreField::Mask);
  CHECK(explore_field_of("the backend failed: out of memory") == ExploreField::Other);
}
