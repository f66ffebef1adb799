// tasks.cpp — the KV cache mode's work on the worker: the decode loop (Backend::decode_loop) for MHA, GQA and MQA,
// then for fp8 and int8 caches of the GQA layout, and the copy bandwidth the floor is drawn from. No ImGui: built into the models library.
#include <algorithm>
#include <memory>
#include <string>

#include "app/gui/views/kvcache/model.hpp"

namespace attnscope::gui {

TaskFn<std::shared_ptr<const KvRunResult>> make_kv_task(const KvViewState& s, const std::string& key) {
  const int64_t heads = s.heads, kv = s.kv_heads, d = s.head_dim, batch = s.batch, loop = s.loop_context;
  const int64_t page = kKvPageSizes[s.page_index];
  const DType dtype = s.dtype;
  const double session_copy_gbs = s.session_copy_gbs;
  const int64_t kv_group = kKvGroups[std::clamp(s.kv_group_index, 0, 3)];
  return [=](Backend& backend, TaskControl& control) -> std::shared_ptr<const KvRunResult> {
    auto r = std::make_shared<KvRunResult>();
    r->key = key;
    r->memory = backend.memory();
    r->backend = backend.name();
    r->asked_dtype = dtype;
    r->page_tokens = page;
    const int64_t layouts[3] = {heads, gqa_heads(heads, kv), 1};
    constexpr int kLoops = 5;  // three layouts, then fp8 and int8 on GQA
    r->kv_group = kv_group;
    for (int i = 0; i < 3 && !control.cancel; ++i) {
      control.set_status(std::string("decode loop, ") + kKvLayoutNames[i] + " (" + std::to_string(layouts[i]) +
                         " KV heads) — " + std::to_string(i + 1) + " of " + std::to_string(kLoops));
      control.progress = i / static_cast<double>(kLoops);
      KvLayoutRun run;
      run.name = kKvLayoutNames[i];
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
        r->bandwidth_source = "copy bandwidth measured with the loop";
      }
      r->storage_bytes = run.loop.storage_bytes;
      if (!run.loop.storage.empty()) r->storage = run.loop.storage;
      r->runs.push_back(std::move(run));
    }
    // The element types on the GQA layout: fp16 is its run above; fp8 and int8 run the same request with a
    // quantised cache (the same seed, so the same tokens).
    if (r->runs.size() == 3) r->dtype_runs.push_back({KvDtype::F16, r->runs[1].loop});
    for (int i = 1; i < 3 && !control.cancel && r->runs.size() == 3; ++i) {
      const KvDtype t = kKvDtypes[i];
      control.set_status(std::string("decode loop, GQA with an ") + kv_dtype_name(t) + " cache — " +
                         std::to_string(3 + i) + " of " + std::to_string(kLoops));
      control.progress = (2 + i) / static_cast<double>(kLoops);
      DecodeLoopRequest req;
      req.batch = batch;
      req.q_heads = heads;
      req.kv_heads = layouts[1];
      req.head_dim = d;
      req.dtype = DType::F16;  // quantised caches are compared with fp16
      req.page_tokens = page;
      req.context = loop;
      req.measure_every = std::max<int64_t>(1, loop / 16);
      req.repetitions = 3;
      req.kv_dtype = t;
      req.kv_group = kv_group;
      r->dtype_runs.push_back({t, backend.decode_loop(req)});
    }
    if (r->bandwidth_gbs <= 0 && session_copy_gbs > 0) {
      r->bandwidth_gbs = session_copy_gbs;
      r->bandwidth_source = "copy bandwidth measured by the backend earlier in this session";
    }
    if (r->bandwidth_gbs <= 0 && !control.cancel) {
      const DeviceCeilings c = backend.measure_ceilings();
      if (c.ok) {
        r->bandwidth_gbs = c.copy_bytes_per_s / 1e9;
        r->bandwidth_source = "copy bandwidth measured by the backend";
        r->bandwidth_measured_now = true;
      }
    }
    for (KvLayoutRun& run : r->runs) {
      // The floor counts the bytes the loop stored (the CPU twin stores fp32).
      const DType counted =
          run.loop.storage_bytes == 4 ? DType::F32 : (dtype == DType::BF16 ? DType::BF16 : DType::F16);
      for (const auto& sample : run.loop.samples) {
        run.context.push_back(static_cast<double>(sample.context));
        run.ms.push_back(sample.decode_ms);
        // The spread of the repetitions (a backend that kept none: the median alone, no bar).
        Timing t = Timing::from_samples(sample.decode_samples_ms.empty() ? std::vector<double>{sample.decode_ms}
                                                                         : sample.decode_samples_ms);
        run.ms_below.push_back(std::max(0.0, sample.decode_ms - t.min_ms));
        run.ms_above.push_back(std::max(0.0, t.max_ms - sample.decode_ms));
        run.timing.push_back(std::move(t));
        run.gbs.push_back(sample.achieved_gbs);
        run.floor_ms.push_back(floor_ms_for(batch, heads, run.kv_heads, d, counted, sample.context, r->bandwidth_gbs));
      }
    }
    control.progress = 1.0;
    return std::shared_ptr<const KvRunResult>(r);
  };
}

}  // namespace attnscope::gui
