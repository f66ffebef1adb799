// test_trace.cpp — traces recorded by the CPU twins: every non-empty (Q tile, K/V tile) pair visited exactly
// once, probes end at the row's true max and sum; save -> load -> equal; malformed files named in errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "core/block_mask.hpp"
#include "core/cpu_backend.hpp"
#include "core/trace_io.hpp"

using namespace attnscope;

namespace {

AttentionInputs inputs_for(const std::string& mask, int64_t n, int64_t heads, uint64_t seed) {
  AttentionSpec s;
  s.batch = 2; s.q_heads = heads; s.kv_heads = 1; s.q_len = s.kv_len = n; s.head_dim = 16;
  s.mask = parse_mask(mask).mask;
  return generate_inputs(s, Generator::Gaussian, seed);
}

Trace record(Backend& backend, Algorithm algo, const AttentionInputs& in, TileConfig tiles,
             std::vector<int32_t> probes) {
  RunRequest req;
  req.algorithm = algo;
  req.inputs = &in;
  req.tiles = tiles;
  req.warmup = 0;
  req.repetitions = 1;
  req.record_trace = true;
  req.probe_rows = std::move(probes);
  RunResult r = backend.run(req);
  REQUIRE_MESSAGE(r.ok, r.error);
  REQUIRE(r.trace.has_value());
  return *r.trace;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("attnscope_test_" + name)).string();
}

}  // namespace

TEST_CASE("trace invariants: each non-empty tile pair once, probes end at the true max and sum") {
  auto backend = make_cpu_backend(2);
  const std::vector<int32_t> probe_rows = {0, 37, 99, 150};
  for (const char* mask : {"dense", "causal", "window:20,5", "grid:40:10/01"})
    for (Algorithm algo : {Algorithm::Flash, Algorithm::Flash1, Algorithm::BlockSparse}) {
      const AttentionInputs in = inputs_for(mask, 151, 3, 41);
      const TileConfig tiles{32, 24};
      const Trace t = record(*backend, algo, in, tiles, probe_rows);
      INFO(std::string(mask), " ", std::string(algorithm_name(algo)));
      const BlockMask bm = build_block_mask(in.spec, tiles.br, tiles.bc, false);
      CHECK(t.tr == bm.tiles.tr);
      CHECK(t.tc == bm.tiles.tc);
      CHECK(t.source == "cpu");
      CHECK(t.algorithm == algorithm_name(algo));
      std::map<std::tuple<int, int, int, int>, int> visits;
      for (auto& c : t.ctas) {
        CHECK(c.unit >= 0);
        CHECK(c.unit < t.units);
        for (auto& v : c.visits) {
          ++visits[{c.batch, c.head, c.q_tile, v.k_tile}];
          CHECK(v.start_ns >= 0);
          CHECK(v.end_ns >= v.start_ns);
        }
        // Within one CTA, tiles are visited in increasing order (FA-2 order) and one after another.
        for (size_t k = 1; k < c.visits.size(); ++k) {
          CHECK(c.visits[k].k_tile > c.visits[k - 1].k_tile);
          CHECK(c.visits[k].start_ns >= c.visits[k - 1].end_ns);
        }
      }
      // FA-2 orders skip empty tiles, as the CUDA kernels do (flash_fp32 reads the tile classes); FA-1's passes do not.
      const bool skips_empty = algo != Algorithm::Flash1;
      size_t expected_pairs = 0;
      for (int b = 0; b < in.spec.batch; ++b)
        for (int h = 0; h < in.spec.q_heads; ++h)
          for (int i = 0; i < t.tr; ++i)
            for (int j = 0; j < t.tc; ++j) {
              const bool nonempty = bm.at(i, j) != TileKind::Empty;
              const auto it = visits.find({b, h, i, j});
              const int count = it == visits.end() ? 0 : it->second;
              if (nonempty || !skips_empty) {
                CHECK(count == 1);
                ++expected_pairs;
              } else {
                CHECK(count == 0);
              }
            }
      CHECK(visits.size() == expected_pairs);
      if (algo == Algorithm::Flash1) {
        // FA-1 order: every update of K/V tile j starts after every update of tile j-1 has ended.
        std::map<int, std::pair<int64_t, int64_t>> pass;  // j -> (earliest start, latest end)
        for (auto& c : t.ctas)
          for (auto& v : c.visits) {
            auto [it, fresh] = pass.try_emplace(v.k_tile, v.start_ns, v.end_ns);
            if (!fresh) {
              it->second.first = std::min(it->second.first, v.start_ns);
              it->second.second = std::max(it->second.second, v.end_ns);
            }
          }
        for (auto it = std::next(pass.begin()); it != pass.end(); ++it)
          CHECK(it->second.first >= std::prev(it)->second.second);
      }

      // Probes: final m and l equal the true row max and Σ exp(s - max), from the double reference.
      REQUIRE(t.probes.size() == probe_rows.size());
      const ReferenceHead ref = reference_head(in, 0, 0);
      for (auto& p : t.probes) {
        CHECK(p.batch == 0);
        CHECK(p.head == 0);
        double true_max = -INFINITY;
        for (int64_t k = 0; k < ref.cols; ++k) true_max = std::max(true_max, ref.scores[p.row * ref.cols + k]);
        double true_sum = 0;
        for (int64_t k = 0; k < ref.cols; ++k)
          if (std::isfinite(ref.scores[p.row * ref.cols + k])) true_sum += std::exp(ref.scores[p.row * ref.cols + k] - true_max);
        INFO("probe row ", p.row);
        if (std::isinf(true_max)) {
          // A row with no allowed key: FA-2 orders may skip every tile of it; otherwise l stays 0.
          CHECK((p.steps.empty() || p.steps.back().l == 0.0));
          CHECK((!p.steps.empty() || algo != Algorithm::Flash1));
          continue;
        }
        REQUIRE_FALSE(p.steps.empty());
        {
          CHECK(p.steps.back().m == doctest::Approx(true_max).epsilon(1e-5));
          CHECK(p.steps.back().l == doctest::Approx(true_sum).epsilon(1e-4));
        }
        for (size_t k = 0; k < p.steps.size(); ++k) {
          CHECK(p.steps[k].rescale <= 1.0);
          CHECK(p.steps[k].rescale >= 0.0);
          if (k > 0) CHECK(p.steps[k].m >= p.steps[k - 1].m);  // the running max never decreases
        }
      }
    }
}

TEST_CASE("a trace saves, reloads and compares equal") {
  auto backend = make_cpu_backend(2);
  const AttentionInputs in = inputs_for("window:30+causal", 200, 2, 5);
  // Row 0 sees only key 0; the probe's m is -inf before its first allowed tile only in later rows' tiles,
  // so include a decode-like fully masked case through a grid as well.
  const Trace t = record(*backend, Algorithm::BlockSparse, in, {64, 32}, {0, 5, 199});
  const std::string path = temp_path("trace.json");
  std::string error;
  REQUIRE_MESSAGE(save_trace(t, path, &error), error);
  const TraceLoadResult loaded = load_trace(path);
  REQUIRE_MESSAGE(loaded.ok, loaded.error);
  CHECK(loaded.trace == t);

  // Non-finite probe values survive the round trip.
  Trace odd = t;
  odd.probes[0].steps[0].m = -INFINITY;
  odd.probes[0].steps[0].acc_norm = NAN;
  const TraceLoadResult odd_back = trace_from_json(trace_to_json(odd));
  REQUIRE(odd_back.ok);
  CHECK(odd_back.trace == odd);
  CHECK_FALSE(odd_back.trace == t);
  std::filesystem::remove(path);
}

TEST_CASE("malformed, truncated and wrong-version trace files get errors naming the file and the problem") {
  auto backend = make_cpu_backend(1);
  const AttentionInputs in = inputs_for("causal", 64, 1, 9);
  const std::string good = trace_to_json(record(*backend, Algorithm::Flash, in, {16, 16}, {3}));
  const std::string path = temp_path("bad_trace.json");
  auto load_text = [&](const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return load_trace(path);
  };
  auto contains = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };

  auto r = load_text(good.substr(0, good.size() / 2));
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, path));
  CHECK(contains(r.error, "truncated"));

  r = load_text("{\"format\": \"attnscope-trace\", \"version\": 1,, }");
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, "malformed JSON"));

  std::string wrong_version = good;
  const size_t at = wrong_version.find("\"version\":1");
  REQUIRE(at != std::string::npos);
  wrong_version.replace(at, 11, "\"version\":99");
  r = load_text(wrong_version);
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, "version 99"));

  std::string missing = good;
  missing.replace(missing.find("\"units\""), 7, "\"unitz\"");
  r = load_text(missing);
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, "'trace.units' is missing"));

  r = load_text("[1, 2, 3]");
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, "not a JSON object"));

  r = load_text("");
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, "empty"));

  r = load_trace(temp_path("does_not_exist.json"));
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, "cannot open"));
  std::filesystem::remove(path);
}
