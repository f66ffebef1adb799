// finite_check.hpp — NaN and ±Inf in Q, K, V found before attention runs. A non-finite score poisons a softmax
// row: NaN in Q row i, or in K/V row j that row i may attend to, makes output row i NaN — or, where the
// kernels treat a row whose maximum is not finite as fully masked, a row of zeros that looks like a masked row.
// Either is a silently wrong number, so runs refuse such inputs and say which tensors, where, and which output
// rows they would affect.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/reference.hpp"

namespace attnscope {

struct NonFiniteTensor {
  int64_t nan = 0, inf = 0;
  int64_t first_index = -1;  // flat index of the first non-finite value
  std::string first_position;  // "batch 0, head 0, row 3, column 2"
  int64_t count() const { return nan + inf; }
};

struct NonFiniteReport {
  NonFiniteTensor q, k, v;
  int64_t affected_rows = 0;     // output rows (batch, head, row) whose softmax sees a non-finite value
  bool affected_exact = true;    // false: counting stopped at its budget; affected_rows is a lower bound
  int64_t total_rows = 0;        // batch · q_heads · q_len
  float limit = 0;               // values with |x| >= limit were counted (infinity: only NaN and ±Inf)
  struct Row { int64_t batch, head, row; };
  std::vector<Row> affected_examples;  // the first few affected rows, in order
  bool any() const { return q.count() + k.count() + v.count() > 0; }
  // "Q (q.npy) has 1 NaN, first at batch 0, head 0, row 3, column 2; K and V are finite. 1 of 40 output rows
  // would be NaN (batch 0 head 0 row 3) ..." — names[i] stands for Q, K, V.
  std::string describe(const std::string& q_name, const std::string& k_name, const std::string& v_name) const;
};

// Scans the three arrays (O(elements)); affected rows follow the spec's mask and GQA grouping.
NonFiniteReport find_non_finite(const AttentionInputs& inputs);
// The same for values that would not survive storage in a narrower type: NaN and |x| >= limit (in `inf`).
// fp16 stores |x| >= 65520 as ±Inf, so kFp16Overflow is the limit for --dtype fp16.
constexpr float kFp16Overflow = 65520.0f;
NonFiniteReport find_beyond(const AttentionInputs& inputs, float limit);

}  // namespace attnscope
