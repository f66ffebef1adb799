// tasks.cpp — the Explore mode's work on the worker: a zoomed window recomputed at full resolution, and the block
// mask of the overlay (each tile empty, partial or full). No ImGui: built into the models library.
#include <memory>
#include <string>

#include "app/gui/views/explore/model.hpp"
#include "core/block_mask.hpp"
#include "core/reference.hpp"

namespace attnscope::gui {
namespace {

constexpr int kWindowCells = 512;  // cells per side of a recomputed window, at most

// The inputs of (batch 0, query head 0) and its KV head: generate_inputs fills each tensor batch-major,
// head-major from one seeded stream per tensor, so a 1 x 1 problem gives exactly the Explore job's head 0.
const AttentionInputs& head_zero_inputs(InputCache& cache, const AttentionSpec& spec, const ExperimentConfig& c) {
  AttentionSpec one = spec;
  one.batch = one.q_heads = one.kv_heads = 1;
  const std::string key = one.summary() + "|" + generator_name(c.generator) + "|" + std::to_string(c.seed);
  if (cache.key != key) {
    cache.inputs = generate_inputs(one, c.generator, c.seed);
    cache.key = key;
  }
  return cache.inputs;
}

}  // namespace

TaskFn<WindowTaskResult> make_window_task(const AttentionSpec& spec, const ExperimentConfig& config,
                                          uint64_t generation, const WindowRequest& request,
                                          std::shared_ptr<InputCache> cache) {
  return [=](Backend& backend, TaskControl& control) -> WindowTaskResult {
    control.set_status("recomputing the visible window at full resolution");
    WindowTaskResult out;
    out.generation = generation;
    out.request = request;
    ScoreImageRequest r;
    r.inputs = &head_zero_inputs(*cache, spec, config);
    r.kind = config.show;
    r.q0 = request.q0;
    r.k0 = request.k0;
    r.q1 = request.q1;
    r.k1 = request.k1;
    r.cells_q = r.cells_k = kWindowCells;
    out.image = backend.score_image(r);
    control.progress = 1.0;
    return out;
  };
}

TaskFn<BlockMaskTaskResult> make_block_mask_task(const AttentionSpec& spec, uint64_t generation, int br, int bc) {
  return [=](Backend&, TaskControl& control) -> BlockMaskTaskResult {
    control.set_status("classifying tiles of the block mask");
    BlockMaskTaskResult out;
    out.generation = generation;
    out.br = br;
    out.bc = bc;
    out.mask = std::make_shared<const BlockMask>(build_block_mask(spec, br, bc, /*count_pairs=*/false));
    control.progress = 1.0;
    return out;
  };
}

}  // namespace attnscope::gui
