// npy.hpp — NumPy .npy files: read float32 / float16 arrays (format versions 1–3, C order), write float32, and
// turn Q, K, V arrays into AttentionInputs. Every error names the file and the problem.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/reference.hpp"

namespace attnscope {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;     // converted to float32, C order
  std::string source_dtype;    // "float32" or "float16"
  int64_t elements() const;
  std::string shape_string() const;  // "[2, 8, 128, 64]"
};

struct NpyReadResult {
  bool ok = false;
  std::string error;  // "Q.npy: data truncated: header says [128, 64] float32 (32768 bytes), file has 1000"
  NpyArray array;
};

// Reads the preamble and header first (the header at most 1 MiB), checks the data the header describes against the
// file's size, and only then allocates and reads exactly that many bytes. Folders, devices and pipes are refused
// (they have no size to check; /dev/zero never ends).
NpyReadResult read_npy(const std::string& path);
// The same from bytes in memory; `name` stands for the file in messages.
NpyReadResult parse_npy(std::string_view bytes, const std::string& name);

// Writes a float32 C-order array (format 1.0) through core/atomic_file: a temporary file renamed into place, so a
// failed write leaves no partial file. Returns the error (path, reason from errno), empty on success.
std::string write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);
std::string npy_bytes(const std::vector<int64_t>& shape, const float* data);

// Q, K, V as [N, d], [H, N, d] or [B, H, N, d] (the same rank for all three); K and V may have fewer heads (GQA:
// q_heads a multiple of kv_heads). The spec's lengths, heads and head_dim come from the shapes; dtype, scale
// and mask are left to the caller.
struct NpyAttention {
  bool ok = false;
  std::string error;
  AttentionInputs inputs;
  size_t rank = 0;  // of Q, so O can be written back in the same shape
};
NpyAttention attention_from_npy(const NpyArray& q, const NpyArray& k, const NpyArray& v, const std::string& q_name,
                                const std::string& k_name, const std::string& v_name);

}  // namespace attnscope
