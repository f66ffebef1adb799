// score_pool.hpp — the heatmap's picture of one (batch, head)'s S or P, computed on the GPU without materialising
// the N x N matrix: the window [q0, q1) x [k0, k1) is cut into rows x cols cells (the CPU's split:
// cell r covers rows q0 + wq·r/rows .. q0 + wq·(r+1)/rows), and each cell holds
//   S: the allowed entry of largest magnitude (sign kept),   P: the mean of P over the allowed entries,
// NaN when every entry of the cell is masked, and the share of the cell's pairs the mask allows
// (allowed / pairs of the cell: the mask's density, so a pooled picture does not look denser than it is). Same contract as core's cpu_score_image; a window smaller than the
// cell grid is shown 1:1, which is the full-resolution zoom.
#pragma once
#include <cstdint>
#include <string>

#include "core/mask.hpp"

namespace attnscope::kernels {

struct ScorePoolParams {
  const float* q = nullptr;   // device, this head's Q rows [q_len][head_dim]
  const float* k = nullptr;   // device, its KV head's K rows [kv_len][head_dim]
  int64_t q_len = 0, kv_len = 0, head_dim = 0;
  float scale = 1.0f;
  MaskView mask;              // grid_cells on the device
  bool probabilities = false; // false: S, true: P
  int64_t q0 = 0, q1 = 0, k0 = 0, k1 = 0;
  int rows = 0, cols = 0;
  float* row_max = nullptr;   // device [q1 - q0], P only: m_i over all keys (filled by the launch)
  float* row_sum = nullptr;   // device [q1 - q0], P only: l_i = Σ_j exp(S_ij − m_i)
  float* cells = nullptr;     // device [rows][cols]
  float* allowed = nullptr;   // device [rows][cols], optional: allowed pairs / pairs of each cell
};

std::string validate(const ScorePoolParams& p);
void launch_score_pool(const ScorePoolParams& p, void* stream);

}  // namespace attnscope::kernels
