// test_flash_model.cpp — the FlashAttention mode's model without a display, on the CPU backend: the traced run,
// the replay against the trace, the probed row against the reference, block-sparse skipping, reduced experiments.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/views/flash/model.hpp"
#include "core/block_mask.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

FlashViewKey make_key(int64_t n, const std::string& mask, bool causal, FlashOrder order, int br, int bc, int32_t row) {
  FlashViewKey key;
  key.config.n = n;
  key.config.head_dim = 32;
  key.config.heads = 2;
  key.config.kv_heads = 2;
  key.config.mask = mask;
  key.config.causal = causal;
  key.config.generator = Generator::Gaussian;
  key.config.seed = 7;
  key.tiles = {br, bc};
  key.order = order;
  key.row = row;
  return key;
}

std::shared_ptr<const FlashViewResult> compute(Backend& backend, const FlashViewKey& key) {
  TaskControl control;
  return compute_flash_view(backend, control, key, std::nullopt);
}

// Every visit of every CTA, looked up at its midpoint, is what the replay says its unit was doing then.
void check_replay_matches_trace(const FlashViewResult& r) {
  const Trace& trace = r.trace;
  const TraceReplay& replay = r.replay;
  size_t spans = 0;
  for (auto& unit_spans : replay.by_unit) {
    spans += unit_spans.size();
    // One unit runs one CTA at a time (a CPU worker; the CPU twin's traces are the ones tested here).
    for (size_t i = 1; i < unit_spans.size(); ++i) CHECK(unit_spans[i - 1].end <= unit_spans[i].start);
  }
  CHECK(spans == trace.ctas.size());
  int checked = 0;
  for (size_t c = 0; c < trace.ctas.size(); c += 3) {
    const CtaRecord& cta = trace.ctas[c];
    for (size_t v = 0; v < cta.visits.size(); ++v) {
      const TileVisit& visit = cta.visits[v];
      const TraceReplay::Activity a = replay.at(trace, cta.unit, (visit.start_ns + visit.end_ns) / 2);
      CHECK(a.cta == static_cast<int32_t>(c));
      CHECK(a.visit == static_cast<int32_t>(v));
      ++checked;
    }
  }
  CHECK(checked > 0);
  CHECK(replay.at(trace, 0, replay.end_ns + 1).cta == -1);  // after the run: idle
}

}  // namespace

TEST_CASE("flash view: FA-2 trace replay and the probed row against the reference (CPU backend)") {
  auto backend = make_cpu_backend(2);
  for (int64_t n : {17, 300}) {
    CAPTURE(n);
    const auto r = compute(*backend, make_key(n, "dense", true, FlashOrder::Flash2, 32, 16, static_cast<int32_t>(n - 2)));
    REQUIRE_MESSAGE(r->error.empty(), r->error);
    REQUIRE(r->has_trace);
    CHECK(r->trace.algorithm == "flash");
    const int64_t tr = (n + 31) / 32, tc = (n + 15) / 16;
    CHECK(r->trace.tr == tr);
    CHECK(r->trace.tc == tc);
    CHECK(r->trace.ctas.size() == static_cast<size_t>(2 * tr));  // one CTA per (head, Q tile)
    check_replay_matches_trace(*r);
    CHECK(r->replay.max_concurrent >= 1);
    CHECK(r->replay.max_concurrent <= r->replay.units);
    CHECK(r->replay.tail_start_ns <= r->replay.end_ns);

    // The probed row: one step per K/V tile (FA-2 visits every tile), in order, paired with the CTA's visits.
    REQUIRE(r->probe_ok);
    CHECK(r->row == n - 2);
    REQUIRE(r->replay.probe_ctas.size() == 1);
    CHECK(r->replay.probe_visits.size() == static_cast<size_t>(tc));
    CHECK(r->replay.probe_steps_done(-1) == 0);
    CHECK(r->replay.probe_steps_done(r->replay.end_ns) == tc);
    // The kernel's softmax, rebuilt from its final m and l, matches the double-precision reference.
    REQUIRE(r->exact_p.size() == static_cast<size_t>(n));
    double sum = 0;
    for (double p : r->kernel_p) sum += p;
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(r->max_abs_diff < 1e-5);
    // Causal: keys after the row's position are masked and have probability 0 in both.
    CHECK(r->exact_p[static_cast<size_t>(n - 1)] == 0.0);
    CHECK(r->kernel_p[static_cast<size_t>(n - 1)] == 0.0);
    // Measured and modelled numbers are there.
    CHECK(r->naive.ok);
    CHECK(r->flash.ok);
    CHECK(r->flash.timing.median_ms > 0);
    CHECK(r->naive.cost.hbm_bytes > r->flash.cost.hbm_bytes);
    CHECK(r->traced_span_ms > 0);
    // FA-1 → FA-3 on the same shape: the CPU runs FA-1's and FA-2's twins and names why the Hopper kernel is not here.
    REQUIRE(r->versions.size() == 3u);
    CHECK(r->versions[0].version == "FA-1");
    CHECK(r->versions[1].version == "FA-2");
    CHECK(r->versions[2].version == "FA-3 design");
    CHECK(r->versions_dtype == DType::F32);  // no tensor-core kernel here: the experiment's dtype
    for (int v = 0; v < 2; ++v) {
      CAPTURE(v);
      CHECK(r->versions[static_cast<size_t>(v)].refused.empty());
      CHECK(r->versions[static_cast<size_t>(v)].run.ok);
      CHECK(r->versions[static_cast<size_t>(v)].run.timing.median_ms > 0);
    }
    CHECK(r->versions[0].run.algorithm == Algorithm::Flash1);
    CHECK(r->versions[1].run.algorithm == Algorithm::Flash);
    // FA-1 reads Q and reads and writes O once per K/V tile; FA-2 moves each once: FA-1 moves more bytes.
    CHECK(r->versions[0].run.cost.hbm_bytes > r->versions[1].run.cost.hbm_bytes);
    CHECK(r->versions[2].refused.find("needs the CUDA backend") == 0);
    CHECK_FALSE(r->versions[2].run.ok);
  }
}

TEST_CASE("flash view: block-sparse skips empty tiles; FA-1 runs one CTA per (Q tile, pass)") {
  auto backend = make_cpu_backend(2);
  SUBCASE("block-sparse on a causal window") {
    const auto r = compute(*backend, make_key(257, "window:40", true, FlashOrder::BlockSparse, 32, 32, 200));
    REQUIRE_MESSAGE(r->error.empty(), r->error);
    const BlockMask bm = build_block_mask(r->spec, 32, 32, false);
    CHECK(r->tile_kinds == bm.kinds);
    for (auto& cta : r->trace.ctas) {
      const auto expected = bm.nonempty_tiles(cta.q_tile);
      REQUIRE(cta.visits.size() == expected.size());
      for (size_t v = 0; v < expected.size(); ++v) CHECK(cta.visits[v].k_tile == expected[v]);
    }
    REQUIRE(r->probe_ok);
    CHECK(r->replay.probe_visits.size() == bm.nonempty_tiles(200 / 32).size());
    CHECK(r->max_abs_diff < 1e-5);
    check_replay_matches_trace(*r);
  }
  SUBCASE("FA-1 order") {
    const auto r = compute(*backend, make_key(100, "dense", false, FlashOrder::Flash1, 16, 32, 50));
    REQUIRE_MESSAGE(r->error.empty(), r->error);
    const int64_t tr = 7, tc = 4;
    CHECK(r->trace.ctas.size() == static_cast<size_t>(2 * tr * tc));
    // The probed row's Q tile is updated once per pass, passes in K/V tile order.
    REQUIRE(r->replay.probe_ctas.size() == static_cast<size_t>(tc));
    for (size_t p = 0; p < r->replay.probe_visits.size(); ++p) CHECK(r->replay.probe_visits[p].k_tile == static_cast<int32_t>(p));
    CHECK(r->max_abs_diff < 1e-5);
    check_replay_matches_trace(*r);
  }
}

TEST_CASE("flash view: large experiments are reduced for tracing and say so; bad input is named") {
  ExperimentConfig big;
  big.n = 5000;
  big.heads = 32;
  big.kv_heads = 8;
  const FlashSpecResult s = flash_view_spec(big, SpecLimits{});
  REQUIRE(s.ok);
  CHECK(s.spec.q_len == kFlashMaxTraceLen);
  CHECK(s.spec.kv_len == kFlashMaxTraceLen);
  CHECK(s.spec.batch * s.spec.q_heads <= kFlashMaxTraceHeads);
  CHECK(s.spec.group_size() == 4);  // the GQA group is kept
  CHECK(s.reduced_note.find("N 5000") != std::string::npos);
  CHECK(s.reduced_note.find("heads 32") != std::string::npos);

  ExperimentConfig small;
  small.n = 512;
  const FlashSpecResult same = flash_view_spec(small, SpecLimits{});
  REQUIRE(same.ok);
  CHECK(same.reduced_note.empty());
  CHECK(same.spec.q_len == 512);

  ExperimentConfig bad;
  bad.n = 0;
  const FlashSpecResult no = flash_view_spec(bad, SpecLimits{});
  CHECK_FALSE(no.ok);
  REQUIRE_FALSE(no.errors.empty());

  FlashViewState view;
  CHECK(view.apply_options("at=0.25,order=flash1,br=32,bc=16,row=9,unit=1").empty());
  CHECK(view.start_fraction == doctest::Approx(0.25));
  CHECK_FALSE(view.playing);
  CHECK(view.order == FlashOrder::Flash1);
  CHECK(view.tiles.br == 32);
  CHECK(view.tiles.bc == 16);
  CHECK(view.row == 9);
  CHECK(view.follow_unit == 1);
  CHECK(view.table == FlashTable::Counters);
  CHECK(view.apply_options("table=versions").empty());
  CHECK(view.table == FlashTable::Versions);
  CHECK(view.table_switch);
  CHECK(view.apply_options("table=sm").empty());
  CHECK(view.table == FlashTable::InsideSm);
  CHECK(view.apply_options("table=counters").empty());
  CHECK(view.table == FlashTable::Counters);
  const auto problems = view.apply_options("at=3,order=fa3,speed=2,br=x,table=v3,sm-timeline=/nonexistent.json");
  REQUIRE(problems.size() == 6);
  CHECK(problems[4].find("table 'v3'") == 0);
  CHECK(problems[5].find("/nonexistent.json") != std::string::npos);
  CHECK_FALSE(view.loaded_timeline.has_value());
}

TEST_CASE("flash view: the default probed row shows data from the first tile steps") {
  auto backend = make_cpu_backend(2);
  CHECK(default_probe_row(1024, 64) == 63);
  CHECK(default_probe_row(40, 64) == 39);
  CHECK(default_probe_row(0, 64) == 0);
  for (FlashOrder order : {FlashOrder::Flash2, FlashOrder::Flash1}) {
    CAPTURE(static_cast<int>(order));
    const auto r = compute(*backend, make_key(1024, "dense", false, order, 64, 64, /*row=*/-1));
    REQUIRE_MESSAGE(r->error.empty(), r->error);
    REQUIRE(r->probe_ok);
    CHECK(r->row / 64 == 0);  // a row of the first Q tile
    const int64_t tc = 1024 / 64;
    REQUIRE(r->replay.probe_visits.size() == static_cast<size_t>(tc));
    // Within the first tenth of the replay the row has folded in its first tile (the row three quarters down, the
    // old default, was not reached before three quarters of an FA-2 run).
    CHECK(r->replay.probe_steps_done(r->replay.end_ns / 10) >= 1);
  }
}

TEST_CASE("flash view: the FA-2 replay skips what the kernel skips (causal N = 1024: the visit schedule's tiles)") {
  auto backend = make_cpu_backend(2);
  const auto r = compute(*backend, make_key(1024, "dense", true, FlashOrder::Flash2, 64, 64, 700));
  REQUIRE_MESSAGE(r->error.empty(), r->error);
  const VisitSchedule schedule = build_visit_schedule(r->spec, 64, 64);
  REQUIRE_FALSE(schedule.gathered);
  size_t visits = 0;
  for (auto& cta : r->trace.ctas) {
    visits += cta.visits.size();
    // Q tile i visits K/V tiles 0 .. i, in the schedule's order: none of the fully masked tiles above the diagonal.
    const auto begin = schedule.visits.begin() + schedule.offsets[static_cast<size_t>(cta.q_tile)];
    const auto end = schedule.visits.begin() + schedule.offsets[static_cast<size_t>(cta.q_tile) + 1];
    REQUIRE(cta.visits.size() == static_cast<size_t>(end - begin));
    for (size_t v = 0; v < cta.visits.size(); ++v) CHECK(cta.visits[v].k_tile == (begin + static_cast<ptrdiff_t>(v))->tile);
  }
  CHECK(visits == 2 * schedule.visits.size());  // two heads
  CHECK(schedule.visits.size() == 16 * 17 / 2);  // of 16 x 16 tiles, the lower triangle with its diagonal
  // The probed row 700 (Q tile 10) folds 11 tiles, and the replay follows them.
  REQUIRE(r->probe_ok);
  CHECK(r->replay.probe_visits.size() == 11);
  CHECK(r->max_abs_diff < 1e-5);
}
