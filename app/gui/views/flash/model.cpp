// model.cpp — the FlashAttention mode's model: orders and options, the traceable spec, the trace replay.
//
// Contents
//   orders and options        flash_order_*, FlashViewState::apply_options
//   flash_view_spec           the experiment reduced to a traceable size
//   build_trace_replay        per-unit CTA spans, concurrency, tail, the probed row's visits
//   TraceReplay queries       at, probe_steps_done, unit_step_times
//   visit_keys                the keys one traced visit covered (K/V tile or gathered block)
//   (compute_flash_view, the worker's runs: tasks.cpp)
#include "app/gui/views/flash/model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/runtime/run_dtype.hpp"
#include "core/json_check.hpp"
#include "core/reference.hpp"
#include "core/spec.hpp"

namespace attnscope::gui {

// ---- orders and options ----------------------------------------------------------------------------------------

Algorithm flash_order_algorithm(FlashOrder order) {
  switch (order) {
    case FlashOrder::Flash1: return Algorithm::Flash1;
    case FlashOrder::BlockSparse: return Algorithm::BlockSparse;
    case FlashOrder::TensorCore: return Algorithm::FlashTensorCore;
    default: return Algorithm::Flash;
  }
}

const char* flash_order_label(FlashOrder order) {
  switch (order) {
    case FlashOrder::Flash1: return "FA-1 order (flash1)";
    case FlashOrder::BlockSparse: return "block-sparse";
    case FlashOrder::TensorCore: return "flash (tensor cores)";
    default: return "FA-2 order (flash)";
  }
}

std::vector<std::string> FlashViewState::apply_options(const std::string& text) {
  std::vector<std::string> problems;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    const bool numeric = !value.empty() && end && *end == '\0';
    if (name == "order") {
      if (value == "flash" || value == "fa2") order = FlashOrder::Flash2;
      else if (value == "flash1" || value == "fa1") order = FlashOrder::Flash1;
      else if (value == "block-sparse") order = FlashOrder::BlockSparse;
      else if (value == "flash-tc" || value == "tc") order = FlashOrder::TensorCore;
      else problems.push_back("order '" + value + "': use flash, flash1, block-sparse or flash-tc");
    } else if (name == "table") {
      if (value == "counters") table = FlashTable::Counters, table_switch = true;
      else if (value == "versions") table = FlashTable::Versions, table_switch = true;
      else if (value == "sm") table = FlashTable::InsideSm, table_switch = true;
      else
        problems.push_back("table '" + value + "': use counters (naive against the order), versions (FA-1 → FA-3) or "
                           "sm (inside one SM)");
    } else if (name == "sm-timeline") {
      std::vector<std::string> errors;
      std::string text, why;
      if (!read_bounded_file(value, 64u << 20, "timeline", text, errors)) {
        problems.push_back(errors.empty() ? "sm-timeline: cannot read '" + value + "'" : errors.front());
      } else if (auto t = sm_timeline_from_json(text, &why)) {
        loaded_timeline = std::move(t);
        loaded_timeline_source = value;
      } else {
        problems.push_back(value + ": " + why);
      }
    } else if (!numeric) {
      problems.push_back(quote_input(item) + ": expected NAME=NUMBER (at, br, bc, row, unit), order=NAME, table=NAME or sm-timeline=FILE");
    } else if (name == "at") {
      if (number < 0 || number > 1) problems.push_back("at=" + value + ": a fraction of the run, 0..1");
      else { start_fraction = number; playing = false; }
    } else if (name == "br" || name == "bc") {
      if (number < 1 || number > 1024) problems.push_back(name + "=" + value + ": tile sizes are 1..1024");
      else (name == "br" ? tiles.br : tiles.bc) = static_cast<int>(number);
    } else if (name == "row") {
      row = static_cast<int32_t>(std::max(0.0, number));
    } else if (name == "unit") {
      follow_unit = static_cast<int32_t>(std::max(-1.0, number));
    } else {
      problems.push_back(quote_input(name) + " is not an option (at, order, table, sm-timeline, br, bc, row, unit)");
    }
  }
  return problems;
}

// ---- flash_view_spec -------------------------------------------------------------------------------------------

FlashSpecResult flash_view_spec(const ExperimentConfig& config, const SpecLimits& limits) {
  FlashSpecResult out;
  const SpecResult base = to_spec(config, limits);
  if (!base.ok) {
    out.errors = base.errors;
    return out;
  }
  AttentionSpec s = base.spec;
  std::vector<std::string> notes;
  if (s.kv_len > kFlashMaxTraceLen || s.q_len > kFlashMaxTraceLen) {
    notes.push_back("N " + std::to_string(s.kv_len) + " → " + std::to_string(kFlashMaxTraceLen));
    s.q_len = std::min(s.q_len, kFlashMaxTraceLen);
    s.kv_len = std::min(s.kv_len, kFlashMaxTraceLen);
  }
  if (s.batch * s.q_heads > kFlashMaxTraceHeads) {
    const int64_t heads_before = s.q_heads, batch_before = s.batch;
    if (s.q_heads > kFlashMaxTraceHeads) {
      const int64_t group = s.group_size();
      // Keep the GQA group (query heads per KV head) where it fits, so the sharing pattern stays the same.
      if (group >= kFlashMaxTraceHeads) { s.q_heads = kFlashMaxTraceHeads; s.kv_heads = 1; }
      else { s.q_heads = (kFlashMaxTraceHeads / group) * group; s.kv_heads = s.q_heads / group; }
    }
    s.batch = std::max<int64_t>(1, std::min(s.batch, kFlashMaxTraceHeads / s.q_heads));
    if (s.q_heads != heads_before) notes.push_back("heads " + std::to_string(heads_before) + " → " + std::to_string(s.q_heads));
    if (s.batch != batch_before) notes.push_back("batch " + std::to_string(batch_before) + " → " + std::to_string(s.batch));
  }
  const auto problems = validate(s, limits);
  if (!problems.empty()) {
    out.errors = problems;
    return out;
  }
  for (auto& n : notes) out.reduced_note += (out.reduced_note.empty() ? "" : ", ") + n;
  out.spec = s;
  out.ok = true;
  return out;
}

// ---- build_trace_replay ----------------------------------------------------------------------------------------

int32_t default_probe_row(int64_t q_len, int br) {
  const int64_t tile = br > 0 ? br : 64;  // no tile size given: the kernels' default Br
  return static_cast<int32_t>(std::max<int64_t>(0, std::min(tile, q_len) - 1));
}

TraceReplay build_trace_replay(const Trace& trace, int32_t probe_row) {
  TraceReplay r;
  int32_t max_unit = -1;
  for (auto& c : trace.ctas) max_unit = std::max(max_unit, c.unit);
  r.units = std::max(trace.units, max_unit + 1);
  r.by_unit.assign(static_cast<size_t>(std::max(0, r.units)), {});
  r.unit_busy_until.assign(static_cast<size_t>(std::max(0, r.units)), 0);
  std::vector<std::pair<int64_t, int>> edges;  // (time, +1 start / -1 end)
  for (size_t i = 0; i < trace.ctas.size(); ++i) {
    const CtaRecord& c = trace.ctas[i];
    if (c.visits.empty() || c.unit < 0) continue;
    TraceReplay::Span span{static_cast<int32_t>(i), std::numeric_limits<int64_t>::max(), 0};
    for (auto& v : c.visits) {
      span.start = std::min(span.start, v.start_ns);
      span.end = std::max(span.end, v.end_ns);
    }
    r.by_unit[static_cast<size_t>(c.unit)].push_back(span);
    r.end_ns = std::max(r.end_ns, span.end);
    edges.emplace_back(span.start, +1);
    edges.emplace_back(span.end, -1);
  }
  for (size_t u = 0; u < r.by_unit.size(); ++u) {
    auto& spans = r.by_unit[u];
    std::sort(spans.begin(), spans.end(), [](auto& a, auto& b) { return a.start < b.start; });
    for (auto& s : spans) r.unit_busy_until[u] = std::max(r.unit_busy_until[u], s.end);
  }
  // Ends before starts at equal times: back-to-back CTAs on one unit are not concurrent.
  std::sort(edges.begin(), edges.end());
  int32_t running = 0;
  for (auto& e : edges) r.max_concurrent = std::max(r.max_concurrent, running += e.second);
  // The tail: from the moment the first used unit runs out of work to the end.
  r.tail_start_ns = r.end_ns;
  for (size_t u = 0; u < r.by_unit.size(); ++u)
    if (!r.by_unit[u].empty()) r.tail_start_ns = std::min(r.tail_start_ns, r.unit_busy_until[u]);

  if (trace.br > 0 && probe_row >= 0) {
    const int32_t q_tile = probe_row / trace.br;
    for (size_t i = 0; i < trace.ctas.size(); ++i) {
      const CtaRecord& c = trace.ctas[i];
      if (c.batch == 0 && c.head == 0 && c.q_tile == q_tile && !c.visits.empty())
        r.probe_ctas.push_back(static_cast<int32_t>(i));
    }
    // FA-1 runs one CTA per pass, passes one after the other: start order is pass order.
    std::sort(r.probe_ctas.begin(), r.probe_ctas.end(), [&](int32_t a, int32_t b) {
      return trace.ctas[static_cast<size_t>(a)].visits.front().start_ns <
             trace.ctas[static_cast<size_t>(b)].visits.front().start_ns;
    });
    for (int32_t c : r.probe_ctas)
      for (auto& v : trace.ctas[static_cast<size_t>(c)].visits) r.probe_visits.push_back(v);
    if (!r.probe_ctas.empty()) r.probe_unit = trace.ctas[static_cast<size_t>(r.probe_ctas.front())].unit;
  }
  return r;
}

// ---- TraceReplay queries ---------------------------------------------------------------------------------------

TraceReplay::Activity TraceReplay::at(const Trace& trace, int32_t unit, int64_t t) const {
  Activity a;
  if (unit < 0 || unit >= static_cast<int32_t>(by_unit.size())) return a;
  const auto& spans = by_unit[static_cast<size_t>(unit)];
  auto it = std::upper_bound(spans.begin(), spans.end(), t, [](int64_t v, const Span& s) { return v < s.start; });
  if (it == spans.begin()) return a;
  const Span& span = *std::prev(it);
  if (t > span.end) return a;
  a.cta = span.cta;
  const auto& visits = trace.ctas[static_cast<size_t>(span.cta)].visits;
  for (size_t v = 0; v < visits.size(); ++v) {
    if (t > visits[v].end_ns) continue;
    if (t < visits[v].start_ns) {  // between two visits: the previous one is done
      a.visit = static_cast<int32_t>(v) - 1;
      a.phase = 1.0;
      a.between_visits = true;
      if (a.visit < 0) { a.visit = 0; a.phase = 0.0; }
      return a;
    }
    a.visit = static_cast<int32_t>(v);
    const double len = static_cast<double>(visits[v].end_ns - visits[v].start_ns);
    a.phase = len > 0 ? std::clamp(static_cast<double>(t - visits[v].start_ns) / len, 0.0, 1.0) : 1.0;
    return a;
  }
  a.visit = static_cast<int32_t>(visits.size()) - 1;
  a.phase = 1.0;
  return a;
}

int32_t TraceReplay::probe_steps_done(int64_t t) const {
  return static_cast<int32_t>(
      std::count_if(probe_visits.begin(), probe_visits.end(), [&](const TileVisit& v) { return v.end_ns <= t; }));
}

std::vector<int64_t> TraceReplay::unit_step_times(const Trace& trace, int32_t unit) const {
  std::vector<int64_t> times;
  if (unit < 0 || unit >= static_cast<int32_t>(by_unit.size())) return times;
  for (auto& span : by_unit[static_cast<size_t>(unit)])
    for (auto& v : trace.ctas[static_cast<size_t>(span.cta)].visits) times.push_back(v.end_ns);
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  return times;
}

// ---- visit_keys ------------------------------------------------------------------------------------------------

std::vector<int64_t> FlashViewResult::visit_keys(int32_t q_tile, int32_t k_tile) const {
  std::vector<int64_t> keys;
  if (k_tile < 0) return keys;
  if (gathered) {
    if (q_tile < 0 || static_cast<size_t>(q_tile) + 1 >= schedule.offsets.size()) return keys;
    const int32_t first = schedule.offsets[static_cast<size_t>(q_tile)], last = schedule.offsets[static_cast<size_t>(q_tile) + 1];
    if (k_tile >= last - first) return keys;
    const KernelVisit& v = schedule.visits[static_cast<size_t>(first + k_tile)];
    for (int c = 0; c < schedule.bc; ++c) {
      const size_t at = static_cast<size_t>(v.key_begin) + static_cast<size_t>(c);
      if (at < schedule.keys.size() && schedule.keys[at] >= 0) keys.push_back(schedule.keys[at]);
    }
    return keys;
  }
  const int64_t bc = std::max(1, trace.bc);
  for (int64_t k = int64_t{k_tile} * bc; k < std::min(spec.kv_len, int64_t{k_tile + 1} * bc); ++k) keys.push_back(k);
  return keys;
}

}  // namespace attnscope::gui
