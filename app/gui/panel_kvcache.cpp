// panel_kvcache.cpp — the "KV cache" mode: why decoding is memory-bound and how GQA / MQA shrink the cache.
//
// Contents
//   state and task      KvViewState; the worker task runs the decode loop (Backend::decode_loop) for MHA, GQA and
//                       MQA and measures the bandwidth the floor is drawn from
//   controls            model preset or custom shape, dtype, context, page size, free memory, the loop
//   comparison table    MHA vs GQA vs MQA: bytes per token, cache at L, pages, sequences that fit, floor per token
//   cache fill          every layer's K and V, page by page, as tokens are generated
//   plots               measured decode time per token and achieved bandwidth against the cost model's floor
// Every number is computed (core/kv_cache.hpp, core/cost_model.hpp) or measured by the backend.
#include <imgui.h>

#include <algorithm>
#include <any>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/gui/panels.hpp"
#include "app/gui/plot.hpp"
#include "core/cost_model.hpp"
#include "core/kv_cache.hpp"

namespace attnscope::gui {
namespace {

constexpr const char* kChannel = "kv-cache";
constexpr int64_t kPageSizes[] = {16, 32, 64, 128, 256};
constexpr const char* kLayoutNames[3] = {"MHA", "GQA", "MQA"};

struct LayoutRun {
  std::string name;
  int64_t kv_heads = 0;
  DecodeLoopResult loop;
  std::vector<double> context, ms, gbs, floor_ms;
};

struct KvRunResult {
  std::string key;
  std::vector<LayoutRun> runs;
  MemoryInfo memory;
  double bandwidth_gbs = 0;       // copy bandwidth: read + written bytes / time
  std::string bandwidth_source;
  int storage_bytes = 2;
};

struct KvViewState {
  int preset = -1;                // index in model_presets(); -1 until initialised; presets().size() = custom
  int layers = 32, heads = 32, kv_heads = 8, head_dim = 128;
  int dtype = 1;                  // 0 fp32, 1 fp16, 2 bf16
  int context = 4096;             // for the sizes and the fill picture
  int page_index = 0;
  int batch = 1;
  float stated_free_gb = 80.0f;   // CPU backend: the memory the user states
  int loop_context = 0;           // 0: chosen from the backend when the first task is asked
  int tokens_shown = -1;          // -1: as many as the loop generated
  std::shared_ptr<const KvRunResult> result;
  std::string asked_key, error;
};
KvViewState& view_state() {
  static KvViewState s;
  return s;
}

DType dtype_of(int i) { return i == 0 ? DType::F32 : i == 2 ? DType::BF16 : DType::F16; }

// The GQA column: the preset's own KV heads when it is grouped, else a quarter of the heads (a divisor).
int64_t gqa_heads(int64_t heads, int64_t model_kv) {
  if (model_kv > 1 && model_kv < heads && heads % model_kv == 0) return model_kv;
  for (int64_t kv = std::max<int64_t>(1, heads / 4); kv > 1; --kv)
    if (heads % kv == 0) return kv;
  return 1;
}

std::string bytes_text(double b) { return format_bytes_binary(b); }

void apply_preset(KvViewState& s) {
  const auto& presets = model_presets();
  if (s.preset < 0 || s.preset >= static_cast<int>(presets.size())) return;
  const ModelPreset& m = presets[static_cast<size_t>(s.preset)];
  s.layers = static_cast<int>(m.layers);
  s.heads = static_cast<int>(m.heads);
  s.kv_heads = static_cast<int>(m.kv_heads);
  s.head_dim = static_cast<int>(m.head_dim);
  s.context = static_cast<int>(std::min<int64_t>(m.context, 1 << 20));
}

void init_state(KvViewState& s, const ViewContext& ctx) {
  if (s.preset >= 0) return;
  const auto& presets = model_presets();
  s.preset = 0;
  for (size_t i = 0; i < presets.size(); ++i)
    if (presets[i].kv_heads > 1 && presets[i].kv_heads < presets[i].heads) { s.preset = static_cast<int>(i); break; }
  apply_preset(s);
  // The loop decodes every step; the CPU twin is slower, so it generates fewer tokens.
  s.loop_context = ctx.state.backend_name == "cuda" ? 16384 : 2048;
}

std::string task_key(const KvViewState& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%d/%d/%d/%d/%d/%d/%d", s.heads, s.kv_heads, s.head_dim, s.dtype, s.page_index,
                s.batch, s.loop_context);
  return buf;
}

double floor_ms_for(int64_t batch, int64_t heads, int64_t kv, int64_t d, DType dtype, int64_t len, double gbs) {
  AttentionSpec spec;
  spec.batch = batch;
  spec.q_heads = heads;
  spec.kv_heads = kv;
  spec.q_len = 1;
  spec.kv_len = len;
  spec.head_dim = d;
  spec.dtype = dtype;
  const AlgorithmCost c = algorithm_cost(Algorithm::Decode, spec, TileConfig{}, PatternStats{});
  return gbs > 0 ? c.hbm_bytes / (gbs * 1e9) * 1e3 : 0;
}

void submit(ViewContext& ctx, KvViewState& s) {
  const std::string key = task_key(s);
  if ((s.result && s.result->key == key) || s.asked_key == key || !ctx.worker) return;
  s.asked_key = key;
  const int64_t heads = s.heads, kv = s.kv_heads, d = s.head_dim, batch = s.batch, loop = s.loop_context;
  const int64_t page = kPageSizes[s.page_index];
  const DType dtype = dtype_of(s.dtype);
  ctx.worker->submit_task(kChannel, [=](Backend& backend, TaskControl& control) -> std::any {
    auto r = std::make_shared<KvRunResult>();
    r->key = key;
    r->memory = backend.memory();
    const int64_t layouts[3] = {heads, gqa_heads(heads, kv), 1};
    for (int i = 0; i < 3 && !control.cancel; ++i) {
      control.set_status(std::string("decode loop, ") + kLayoutNames[i]);
      control.progress = i / 3.0;
      LayoutRun run;
      run.name = kLayoutNames[i];
      run.kv_heads = layouts[i];
      DecodeLoopRequest req;
      req.batch = batch;
      req.q_heads = heads;
      req.kv_heads = layouts[i];
      req.head_dim = d;
      req.dtype = dtype == DType::F32 ? DType::F16 : dtype;  // the GPU kernel reads fp16/bf16 caches
      req.page_tokens = page;
      req.context = loop;
      req.measure_every = std::max<int64_t>(1, loop / 16);
      req.repetitions = 3;
      run.loop = backend.decode_loop(req);
      if (run.loop.copy_gbs > 0) {
        r->bandwidth_gbs = run.loop.copy_gbs;
        r->bandwidth_source = "device-to-device copy measured with the loop";
      }
      r->storage_bytes = run.loop.storage_bytes;
      r->runs.push_back(std::move(run));
    }
    if (r->bandwidth_gbs <= 0) {
      const DeviceCeilings c = backend.measure_ceilings();
      if (c.ok) {
        r->bandwidth_gbs = c.copy_bytes_per_s / 1e9;
        r->bandwidth_source = "copy bandwidth measured by the backend";
      }
    }
    for (LayoutRun& run : r->runs) {
      const DType counted = run.loop.storage_bytes == 4 ? DType::F32 : (dtype == DType::BF16 ? DType::BF16 : DType::F16);
      for (const auto& sample : run.loop.samples) {
        run.context.push_back(static_cast<double>(sample.context));
        run.ms.push_back(sample.decode_ms);
        run.gbs.push_back(sample.achieved_gbs);
        run.floor_ms.push_back(floor_ms_for(batch, heads, run.kv_heads, d, counted, sample.context, r->bandwidth_gbs));
      }
    }
    control.progress = 1.0;
    return std::shared_ptr<const KvRunResult>(r);
  });
}

void take_result(ViewContext& ctx, KvViewState& s) {
  if (!ctx.worker) return;
  auto any = ctx.worker->take_task_result(kChannel);
  if (!any) return;
  auto* result = std::any_cast<std::shared_ptr<const KvRunResult>>(&*any);
  if (!result || !*result) return;
  if (s.asked_key == (*result)->key) s.asked_key.clear();
  s.result = *result;
}

void heading(ViewContext& ctx, const char* text) {
  if (ctx.heading_font) ImGui::PushFont(ctx.heading_font);
  ImGui::TextUnformatted(text);
  if (ctx.heading_font) ImGui::PopFont();
}

// ---------------------------------------------------------------- controls
void draw_controls(ViewContext& ctx, KvViewState& s) {
  heading(ctx, "KV cache");
  ImGui::TextWrapped("Each generated token appends one K and one V row per KV head in every layer, and its query "
                     "reads the whole cache: decoding is bound by memory bandwidth.");
  ImGui::Separator();
  const auto& presets = model_presets();
  const bool custom = s.preset >= static_cast<int>(presets.size());
  const char* current = custom ? "custom shape" : presets[static_cast<size_t>(s.preset)].title.c_str();
  ImGui::SetNextItemWidth(-1);
  if (ImGui::BeginCombo("##model", current)) {
    for (size_t i = 0; i < presets.size(); ++i)
      if (ImGui::Selectable(presets[i].title.c_str(), static_cast<int>(i) == s.preset)) {
        s.preset = static_cast<int>(i);
        apply_preset(s);
      }
    if (ImGui::Selectable("custom shape", custom)) s.preset = static_cast<int>(presets.size());
    ImGui::EndCombo();
  }
  if (!custom) ImGui::TextDisabled("%s", presets[static_cast<size_t>(s.preset)].source.c_str());
  const float w = ctx.ui.font_px * 7.0f;
  ImGui::BeginDisabled(!custom);
  auto field = [&](const char* label, int* v, int lo, int hi) {
    ImGui::SetNextItemWidth(w);
    if (ImGui::InputInt(label, v, 0)) *v = std::clamp(*v, lo, hi);
  };
  field("layers", &s.layers, 1, 512);
  field("query heads", &s.heads, 1, 256);
  field("KV heads (model)", &s.kv_heads, 1, 256);
  field("head dim d", &s.head_dim, 8, 256);
  ImGui::EndDisabled();
  if (s.heads % s.kv_heads != 0)
    ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "query heads %d is not a multiple of KV heads %d", s.heads, s.kv_heads);
  const char* dtypes[] = {"fp32", "fp16", "bf16"};
  ImGui::SetNextItemWidth(w);
  ImGui::Combo("cache dtype", &s.dtype, dtypes, 3);
  ImGui::SetNextItemWidth(w);
  if (ImGui::InputInt("context L (tokens)", &s.context, 0)) s.context = std::clamp(s.context, 1, 1 << 22);
  ImGui::SetNextItemWidth(w);
  const char* pages[] = {"16", "32", "64", "128", "256"};
  ImGui::Combo("page (tokens)", &s.page_index, pages, 5);
  ImGui::SetNextItemWidth(w);
  if (ImGui::InputInt("batch", &s.batch, 0)) s.batch = std::clamp(s.batch, 1, 256);
  if (s.result && s.result->memory.known) {
    ImGui::Text("free memory: %s (measured)", bytes_text(static_cast<double>(s.result->memory.free_bytes)).c_str());
  } else {
    ImGui::SetNextItemWidth(w);
    ImGui::InputFloat("free memory (GB, stated)", &s.stated_free_gb, 0, 0, "%.0f");
    s.stated_free_gb = std::clamp(s.stated_free_gb, 0.1f, 1e6f);
  }
  ImGui::Separator();
  heading(ctx, "Decode loop");
  ImGui::TextWrapped("Append K/V -> decode, every step, on the %s backend; one layer, timed at 16 points.",
                     ctx.state.backend_name.c_str());
  ImGui::SetNextItemWidth(w);
  int loop = s.loop_context;
  if (ImGui::InputInt("tokens to generate", &loop, 0, 0, ImGuiInputTextFlags_EnterReturnsTrue))
    s.loop_context = std::clamp(loop, 16, 1 << 20);
  const TaskState task = ctx.worker ? ctx.worker->task_state(kChannel) : TaskState{};
  if (task.running || task.pending) {
    ImGui::ProgressBar(static_cast<float>(task.progress), ImVec2(-1, 0), task.status.c_str());
  } else if (s.result && !s.result->runs.empty()) {
    const int64_t generated = s.result->runs.front().loop.samples.empty() ? 0 : s.result->runs.front().loop.samples.back().context;
    int shown = s.tokens_shown < 0 ? static_cast<int>(generated) : s.tokens_shown;
    ImGui::SetNextItemWidth(-1);
    if (ImGui::SliderInt("##tokens", &shown, 0, static_cast<int>(std::max<int64_t>(1, generated)), "%d tokens generated"))
      s.tokens_shown = shown;
  }
}

// ---------------------------------------------------------------- comparison table
void draw_comparison(ViewContext& ctx, KvViewState& s, double free_bytes) {
  const int64_t H = s.heads, P = kPageSizes[s.page_index];
  const int64_t kvs[3] = {H, gqa_heads(H, s.kv_heads), 1};
  const DType dtype = dtype_of(s.dtype);
  const double bw = s.result ? s.result->bandwidth_gbs : 0;
  char title[200];
  std::snprintf(title, sizeof title, "MHA vs GQA vs MQA at context L = %d, %s, pages of %lld tokens", s.context,
                dtype_name(dtype), static_cast<long long>(P));
  heading(ctx, title);
  if (!ImGui::BeginTable("kv_compare", 4, ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg)) return;
  ImGui::TableSetupColumn("quantity", ImGuiTableColumnFlags_WidthStretch, 2.2f);
  for (int i = 0; i < 3; ++i) ImGui::TableSetupColumn(kLayoutNames[i], ImGuiTableColumnFlags_WidthStretch, 1.0f);
  ImGui::TableHeadersRow();
  KvFootprint f[3];
  for (int i = 0; i < 3; ++i)
    f[i] = kv_footprint(s.layers, kvs[i], s.head_dim, dtype, s.context, P, free_bytes);
  auto row = [&](const char* label, auto text_of) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(label);
    for (int i = 0; i < 3; ++i) {
      ImGui::TableNextColumn();
      const std::string t = text_of(i);
      ImGui::TextUnformatted(t.c_str());
    }
  };
  row("KV heads (query heads each)", [&](int i) {
    return std::to_string(kvs[i]) + " (" + std::to_string(H / kvs[i]) + ")";
  });
  row("per token, one layer: 2·Hkv·d·e", [&](int i) { return bytes_text(f[i].bytes_per_token_layer); });
  row("bytes per token, all layers", [&](int i) { return bytes_text(f[i].bytes_per_token); });
  row("cache per sequence at L", [&](int i) { return bytes_text(f[i].bytes_per_sequence); });
  row("  paged (ceil(L/P)·P tokens)", [&](int i) { return bytes_text(f[i].bytes_per_sequence_paged); });
  row("sequences of length L that fit", [&](int i) { return std::to_string(f[i].sequences_fit); });
  row("decode floor per token, all layers", [&](int i) {
    if (bw <= 0) return std::string("(not measured)");
    const double ms = floor_ms_for(s.batch, H, kvs[i], s.head_dim, dtype, s.context, bw) * s.layers;
    char b[64];
    std::snprintf(b, sizeof b, "%.3f ms", ms);
    return std::string(b);
  });
  ImGui::EndTable();
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("fit: %s free / paged bytes per sequence · floor: the cost model's decode bytes (batch %d) / "
                     "%.0f GB/s, %s", bytes_text(free_bytes).c_str(), s.batch, bw,
                     bw > 0 ? s.result->bandwidth_source.c_str() : "bandwidth not measured yet");
  ImGui::PopStyleColor();
}

// ---------------------------------------------------------------- cache fill
void draw_fill(ViewContext& ctx, KvViewState& s, float height) {
  const int64_t P = kPageSizes[s.page_index], L = s.context;
  int64_t generated = 0;
  if (s.result && !s.result->runs.empty() && !s.result->runs.front().loop.samples.empty())
    generated = s.result->runs.front().loop.samples.back().context;
  const int64_t tokens = std::min<int64_t>(L, s.tokens_shown < 0 ? generated : s.tokens_shown);
  // The core model decides the pages: one sequence, appended token by token.
  PagedKvCache model(1, P, pages_for(L, P));
  model.append(0, tokens);
  const int64_t pages = model.pages_in_use(), total_pages = pages_for(L, P);
  const KvFootprint f = kv_footprint(1, s.kv_heads, s.head_dim, dtype_of(s.dtype), L, P, 0);
  char title[256];
  std::snprintf(title, sizeof title, "Cache filling: %d layers × (K, V), %d KV heads, %lld of L = %lld tokens", s.layers,
                s.kv_heads, static_cast<long long>(tokens), static_cast<long long>(L));
  heading(ctx, title);
  ImGui::Text("%lld pages of %lld tokens per layer, %lld in all: %s allocated (%s written)", static_cast<long long>(pages),
              static_cast<long long>(P), static_cast<long long>(pages * s.layers),
              bytes_text(static_cast<double>(pages * P) * f.bytes_per_token_layer * s.layers).c_str(),
              bytes_text(static_cast<double>(tokens) * f.bytes_per_token_layer * s.layers).c_str());
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float width = ImGui::GetContentRegionAvail().x;
  const float label_w = ctx.ui.font_px * 4.5f;
  const int rows = s.layers;
  const float row_h = std::max(2.0f, (height - ctx.ui.font_px * 1.5f) / rows);
  const float bar_w = width - label_w;
  const float page_w = bar_w / static_cast<float>(std::max<int64_t>(1, total_pages));
  const ImU32 k_fill = IM_COL32(86, 180, 233, 255), v_fill = IM_COL32(230, 159, 0, 255);
  const ImU32 empty = IM_COL32(45, 48, 55, 255), partial_bg = IM_COL32(70, 74, 84, 255);
  const bool label_every = row_h >= ctx.ui.font_px * 0.9f;
  for (int layer = 0; layer < rows; ++layer) {
    const float y = origin.y + layer * row_h;
    for (int kv = 0; kv < 2; ++kv) {
      const float y0 = y + kv * row_h * 0.5f, y1 = y0 + row_h * 0.5f - (row_h > 4 ? 1.0f : 0.0f);
      const float x0 = origin.x + label_w;
      dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x0 + bar_w, y1), empty);
      // Allocated pages: the last one only partly written.
      dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x0 + page_w * pages, y1), partial_bg);
      dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x0 + bar_w * static_cast<float>(tokens) / L, y1), kv ? v_fill : k_fill);
      if (page_w >= 3)
        for (int64_t p = 1; p < total_pages; ++p)
          dl->AddLine(ImVec2(x0 + page_w * p, y0), ImVec2(x0 + page_w * p, y1), IM_COL32(20, 20, 24, 255));
    }
    if (label_every || layer % std::max(1, static_cast<int>(ctx.ui.font_px / row_h) + 1) == 0) {
      char label[32];
      std::snprintf(label, sizeof label, "layer %d", layer);
      if (row_h * 1.0f >= ctx.ui.font_px * 0.9f || layer % 8 == 0)
        dl->AddText(ImVec2(origin.x, y + std::max(0.0f, (row_h - ctx.ui.font_px) * 0.5f)), IM_COL32(200, 200, 205, 255), label);
    }
  }
  const float legend_y = origin.y + rows * row_h + ctx.ui.font_px * 0.2f;
  float x = origin.x + label_w;
  auto swatch = [&](ImU32 c, const char* text) {
    dl->AddRectFilled(ImVec2(x, legend_y + 3), ImVec2(x + ctx.ui.font_px, legend_y + ctx.ui.font_px - 3), c);
    dl->AddText(ImVec2(x + ctx.ui.font_px * 1.3f, legend_y), IM_COL32(210, 210, 215, 255), text);
    x += ctx.ui.font_px * 1.6f + ImGui::CalcTextSize(text).x + ctx.ui.font_px;
  };
  swatch(k_fill, "K rows written (upper bar)");
  swatch(v_fill, "V rows written (lower bar)");
  swatch(partial_bg, "allocated, not yet written");
  swatch(empty, "not allocated");
  ImGui::Dummy(ImVec2(width, rows * row_h + ctx.ui.font_px * 1.4f));
}

// ---------------------------------------------------------------- plots
std::string tokens_tick(double v) {
  char b[32];
  if (v >= 1024 && std::fmod(v, 1024) == 0) std::snprintf(b, sizeof b, "%.0fk", v / 1024);
  else std::snprintf(b, sizeof b, "%.0f", v);
  return b;
}

void draw_plots(ViewContext& ctx, KvViewState& s, ImVec2 size) {
  if (!s.result) {
    ImGui::TextDisabled("running the decode loop…");
    return;
  }
  const KvRunResult& r = *s.result;
  for (const auto& run : r.runs)
    if (!run.loop.ok) ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "%s: %s", run.name.c_str(), run.loop.error.c_str());
  const float w = (size.x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
  const double shown = s.tokens_shown;
  if (plot::BeginPlot("time per token, one layer (dashed: floor)", ImVec2(w, size.y))) {
    plot::SetupAxis(plot::Axis::X, "context (tokens in the cache)");
    plot::SetupAxis(plot::Axis::Y, "time per token (ms)", plot::Scale::Log10);
    plot::SetupAxisFormat(plot::Axis::X, tokens_tick);
    for (size_t i = 0; i < r.runs.size(); ++i) {
      const auto& run = r.runs[i];
      plot::ItemStyle measured;
      measured.color = plot::GetStyle().palette[i];
      measured.marker = plot::Marker::Circle;
      plot::PlotLine(run.name.c_str(), run.context, run.ms, measured);
      plot::ItemStyle floor;
      floor.color = plot::GetStyle().palette[i];
      floor.dashed = true;
      floor.in_legend = false;
      if (r.bandwidth_gbs > 0) plot::PlotLine((run.name + " floor").c_str(), run.context, run.floor_ms, floor);
    }
    if (shown > 0 && !r.runs.empty() && !r.runs.front().ms.empty())
      plot::PlotText("▼ shown", shown, r.runs.front().ms.back(), ImVec2(0, -ImGui::GetFontSize()));
    plot::EndPlot();
  }
  ImGui::SameLine();
  if (plot::BeginPlot("K/V bytes read / decode time", ImVec2(w, size.y))) {
    plot::SetupAxis(plot::Axis::X, "context (tokens in the cache)");
    plot::SetupAxis(plot::Axis::Y, "bandwidth (GB/s)");
    plot::SetupAxisFormat(plot::Axis::X, tokens_tick);
    for (size_t i = 0; i < r.runs.size(); ++i) {
      plot::ItemStyle st;
      st.color = plot::GetStyle().palette[i];
      st.marker = plot::Marker::Circle;
      plot::PlotLine(r.runs[i].name.c_str(), r.runs[i].context, r.runs[i].gbs, st);
    }
    if (r.bandwidth_gbs > 0 && !r.runs.empty() && !r.runs.front().context.empty()) {
      const double xs[2] = {r.runs.front().context.front(), r.runs.front().context.back()};
      const double ys[2] = {r.bandwidth_gbs, r.bandwidth_gbs};
      plot::ItemStyle st;
      st.color = plot::GetStyle().palette[7];
      st.dashed = true;
      plot::PlotLine("copy bandwidth (read + write)", xs, ys, 2, st);
    }
    plot::EndPlot();
  }
  ImGui::TextDisabled("%s backend · cache stored as %s · batch %d · pages of %lld tokens", ctx.state.backend_name.c_str(),
                      r.runs.empty() ? "?" : r.runs.front().loop.storage.c_str(), s.batch,
                      static_cast<long long>(kPageSizes[s.page_index]));
}

}  // namespace

void draw_kvcache_mode(ViewContext& ctx) {
  KvViewState& s = view_state();
  init_state(s, ctx);
  take_result(ctx, s);
  if (s.heads % s.kv_heads == 0) submit(ctx, s);
  const float em = ctx.ui.font_px;
  ImGui::BeginChild("kv_controls", ImVec2(em * 19.0f, 0), true);
  draw_controls(ctx, s);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("kv_body", ImVec2(0, 0), true);
  const double free_bytes = s.result && s.result->memory.known ? static_cast<double>(s.result->memory.free_bytes)
                                                               : static_cast<double>(s.stated_free_gb) * 1e9;
  draw_comparison(ctx, s, free_bytes);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float plots_h = std::max(em * 12.0f, avail.y * 0.62f);
  draw_fill(ctx, s, std::max(em * 5.0f, avail.y - plots_h - em * 2.5f));
  draw_plots(ctx, s, ImVec2(avail.x, plots_h - em * 2.4f));
  ImGui::EndChild();
}

}  // namespace attnscope::gui
