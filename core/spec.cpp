// spec.cpp — AttentionSpec helpers and validation.
#include "core/spec.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <cstdio>

namespace attnscope {

int dtype_bytes(DType t) { return t == DType::F32 ? 4 : 2; }

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "fp32";
    case DType::F16: return "fp16";
    case DType::BF16: return "bf16";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view s) {
  if (s == "fp32" || s == "float32" || s == "f32") return DType::F32;
  if (s == "fp16" || s == "float16" || s == "f16" || s == "half") return DType::F16;
  if (s == "bf16" || s == "bfloat16") return DType::BF16;
  return std::nullopt;
}

double AttentionSpec::softmax_scale() const {
  if (scale) return *scale;
  return head_dim > 0 ? 1.0 / std::sqrt(static_cast<double>(head_dim)) : 1.0;
}

namespace {
std::string spec_text(const AttentionSpec& spec, const std::string& mask_text) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "B=%lld H=%lld/%lld N=%lld", static_cast<long long>(spec.batch),
                static_cast<long long>(spec.q_heads), static_cast<long long>(spec.kv_heads), static_cast<long long>(spec.kv_len));
  std::string s = buf;
  if (spec.q_len != spec.kv_len) s += " q_len=" + std::to_string(spec.q_len);
  s += " d=" + std::to_string(spec.head_dim) + " " + dtype_name(spec.dtype) + " " + mask_text;
  return s;
}
}  // namespace

std::string AttentionSpec::summary() const { return spec_text(*this, mask.to_string()); }
std::string AttentionSpec::label() const { return spec_text(*this, mask.short_name()); }

std::string format_bytes(double bytes) { return format_bytes_binary(bytes); }

std::string format_bytes_binary(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  // Move up while the value would print as 1024.0 or more in this unit (1023.96 KiB reads "1.0 MiB").
  while (u < 5 && std::fabs(bytes) >= (u == 0 ? 1024.0 : 1023.95)) { bytes /= 1024.0; ++u; }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

namespace {
// The byte offset after the first max_chars UTF-8 characters of text, and how many characters text has.
std::pair<size_t, size_t> utf8_cut(std::string_view text, size_t max_chars) {
  size_t chars = 0, cut = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
    if (chars == max_chars) cut = i;
    ++chars;
  }
  return {cut, chars};
}
}  // namespace

std::string quote_input(std::string_view text, size_t max_chars) {
  const auto [cut, chars] = utf8_cut(text, max_chars);
  if (chars <= max_chars) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, cut)) + "…' (" + std::to_string(chars) + " characters)";
}

std::string shorten_input(std::string_view text, size_t max_chars) {
  const auto [cut, chars] = utf8_cut(text, max_chars);
  if (chars <= max_chars) return std::string(text);
  return std::string(text.substr(0, cut)) + "… (" + std::to_string(chars) + " characters)";
}

std::vector<std::string> validate(const AttentionSpec& s, const SpecLimits& limits, bool stores_score_matrix) {
  std::vector<std::string> p;
  auto positive = [&](const char* name, int64_t v, int64_t max, const char* what_to_do) {
    if (v < 1 || v > max)
      p.push_back(std::string(name) + " " + std::to_string(v) + ": must be 1.." + std::to_string(max) + what_to_do);
  };
  positive("batch", s.batch, 1 << 16, "");
  // The words of the UI (the Explore controls and the CLI's help), never the struct's field names.
  positive("query heads", s.q_heads, 1 << 12, "");
  positive("KV heads", s.kv_heads, 1 << 12, "");
  positive("sequence length N", s.kv_len, limits.max_len, "");
  positive("query length", s.q_len, limits.max_len, "");
  positive("head dim", s.head_dim, limits.max_head_dim, "");
  if (s.kv_heads >= 1 && s.q_heads >= 1 && s.q_heads % s.kv_heads != 0)
    p.push_back("query heads " + std::to_string(s.q_heads) + " is not a multiple of KV heads " +
                std::to_string(s.kv_heads) + ": each KV head must serve the same number of query heads");
  if (s.q_len > s.kv_len && s.q_len >= 1 && s.kv_len >= 1)
    p.push_back("query length " + std::to_string(s.q_len) + " exceeds key length " + std::to_string(s.kv_len) +
                ": queries are the last tokens of the sequence");
  if (s.scale && !(std::isfinite(*s.scale) && *s.scale > 0))
    p.push_back("softmax scale " + std::to_string(*s.scale) + ": must be a positive finite number");
  for (auto& m : s.mask.validate()) p.push_back(m);

  if (stores_score_matrix && s.q_len >= 1 && s.kv_len >= 1 && s.q_len <= limits.max_len && s.kv_len <= limits.max_len) {
    const double score_bytes = static_cast<double>(s.q_len) * static_cast<double>(s.kv_len) * 4.0;
    if (score_bytes > static_cast<double>(limits.score_matrix_bytes)) {
      p.push_back("N = " + std::to_string(s.kv_len) + " needs " + format_bytes(score_bytes) +
                  " for one head's score matrix on the " + limits.backend + " backend; limit is " +
                  format_bytes(static_cast<double>(limits.score_matrix_bytes)) +
                  ": choose a smaller N or a backend with more memory");
    }
  }
  return p;
}

}  // namespace attnscope
