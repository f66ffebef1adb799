// spec.hpp — the attention problem: shapes, storage type, softmax scale and mask.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mask.hpp"

namespace attnscope {

enum class DType { F32, F16, BF16 };

int dtype_bytes(DType t);
const char* dtype_name(DType t);                       // "fp32", "fp16", "bf16"
std::optional<DType> parse_dtype(std::string_view s);  // accepts the names above and float32/float16/bfloat16

// Tensors are row-major: Q is [batch, q_heads, q_len, head_dim], K and V are [batch, kv_heads, kv_len, head_dim],
// O has Q's shape. Query head h reads KV head h / (q_heads / kv_heads) (MHA: equal, GQA: groups, MQA: one).
struct AttentionSpec {
  int64_t batch = 1;
  int64_t q_heads = 1;
  int64_t kv_heads = 1;
  int64_t q_len = 1024;
  int64_t kv_len = 1024;
  int64_t head_dim = 64;
  DType dtype = DType::F32;
  std::optional<double> scale;  // softmax scale; default 1 / sqrt(head_dim)
  MaskSpec mask;

  double softmax_scale() const;
  int64_t group_size() const { return kv_heads > 0 ? q_heads / kv_heads : 0; }
  int64_t kv_head_of(int64_t q_head) const { return q_head / group_size(); }
  // Absolute position of query row i: queries are the last q_len tokens of the kv_len-long sequence.
  int64_t query_position(int64_t row) const { return row + (kv_len - q_len); }
  bool allowed(const MaskView& view, int64_t row, int64_t key) const { return view.allowed(query_position(row), key); }

  int64_t q_elements() const { return batch * q_heads * q_len * head_dim; }
  int64_t kv_elements() const { return batch * kv_heads * kv_len * head_dim; }
  // "B=1 H=8/8 N=1024 d=64 fp32 window:64+causal"
  std::string summary() const;
  // The same with the mask's short_name (a painted grid named, not spelled out): for headings and tables.
  std::string label() const;
};

// What a backend can hold. The CPU reference materialises one head's score matrix in fp32.
struct SpecLimits {
  int64_t max_len = int64_t{1} << 20;             // per sequence
  int64_t max_head_dim = 256;
  uint64_t score_matrix_bytes = uint64_t{4} << 30;  // one head's S, fp32
  std::string backend = "CPU";
};

// Every problem with the spec, each a sentence naming the field, its value and the rule
// ("head_dim 0: must be 1..256"). Empty when the spec is valid. The score-matrix limit applies only when
// `stores_score_matrix` (materialises_scores(algorithm)): tile-by-tile algorithms run at any N the memory allows.
std::vector<std::string> validate(const AttentionSpec& spec, const SpecLimits& limits = {},
                                  bool stores_score_matrix = true);

// Bytes with binary prefixes, one decimal from KiB up: "512 B", "16.0 KiB", "37.3 GiB" (KiB = 2^10 bytes, MiB =
// 2^20, ...). The app quotes every byte count this way: memory is allocated in powers of two, and one convention
// avoids a "GB" that means 10^9 in one place and 2^30 in another. format_bytes and format_bytes_binary are the same.
std::string format_bytes(double bytes);
std::string format_bytes_binary(double bytes);

// User input quoted in a message: 'TEXT' when it has at most max_chars characters, else its first max_chars
// characters, "…" and how long it was ("'grid:64:0000000000…' (4105 characters)"). An error never echoes hundreds
// of characters of what was typed or pasted. Cuts between UTF-8 characters, never inside one.
std::string quote_input(std::string_view text, size_t max_chars = 40);
// The same without the quotes: TEXT itself when short, else "grid:64:0000000000… (4105 characters)".
std::string shorten_input(std::string_view text, size_t max_chars = 40);

}  // namespace attnscope
