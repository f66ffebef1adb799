// finite_check.cpp — see finite_check.hpp.
#include "core/finite_check.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace attnscope {
namespace {

// Mask evaluations spent on counting affected rows before the count is reported as a lower bound.
constexpr int64_t kAffectedRowBudget = int64_t{1} << 27;

// Values with |x| < limit are good; NaN never is.
NonFiniteTensor scan(const std::vector<float>& values, float limit) {
  NonFiniteTensor t;
  for (size_t i = 0; i < values.size(); ++i) {
    const float x = values[i];
    if (std::fabs(x) < limit) continue;
    if (std::isnan(x)) ++t.nan; else ++t.inf;
    if (t.first_index < 0) t.first_index = static_cast<int64_t>(i);
  }
  return t;
}

bool row_finite(const float* row, int64_t d, float limit) {
  for (int64_t c = 0; c < d; ++c)
    if (!(std::fabs(row[c]) < limit)) return false;
  return true;
}

// "batch 0, head 1, row 3, column 2" for a flat index into [batch, heads, len, d].
std::string position(int64_t index, int64_t heads, int64_t len, int64_t d) {
  const int64_t c = index % d, row = index / d % len, head = index / d / len % heads, batch = index / d / len / heads;
  return "batch " + std::to_string(batch) + ", head " + std::to_string(head) + ", row " + std::to_string(row) +
         ", column " + std::to_string(c);
}

std::string counts(const NonFiniteTensor& t, float limit) {
  std::string s;
  if (t.nan) s += std::to_string(t.nan) + " NaN";
  if (t.inf) {
    s += (s.empty() ? "" : " and ") + std::to_string(t.inf);
    if (std::isinf(limit)) {
      s += std::string(" infinite value") + (t.inf > 1 ? "s" : "");
    } else {
      char bound[32];
      std::snprintf(bound, sizeof bound, "%g", static_cast<double>(limit));
      s += std::string(" value") + (t.inf > 1 ? "s" : "") + " of magnitude " + bound + " or more";
    }
  }
  return s;
}

}  // namespace

NonFiniteReport find_non_finite(const AttentionInputs& in) {
  return find_beyond(in, std::numeric_limits<float>::infinity());
}

NonFiniteReport find_beyond(const AttentionInputs& in, float limit) {
  NonFiniteReport r;
  const AttentionSpec& s = in.spec;
  r.limit = limit;
  r.q = scan(in.q, limit);
  r.k = scan(in.k, limit);
  r.v = scan(in.v, limit);
  if (r.q.first_index >= 0) r.q.first_position = position(r.q.first_index, s.q_heads, s.q_len, s.head_dim);
  if (r.k.first_index >= 0) r.k.first_position = position(r.k.first_index, s.kv_heads, s.kv_len, s.head_dim);
  if (r.v.first_index >= 0) r.v.first_position = position(r.v.first_index, s.kv_heads, s.kv_len, s.head_dim);
  r.total_rows = s.batch * s.q_heads * s.q_len;
  if (!r.any()) return r;
  const MaskView view = s.mask.view();
  int64_t budget = kAffectedRowBudget;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      std::vector<int64_t> bad_keys;  // K or V row not finite
      for (int64_t j = 0; j < s.kv_len; ++j)
        if (!row_finite(in.k_row(b, kvh, j), s.head_dim, limit) || !row_finite(in.v_row(b, kvh, j), s.head_dim, limit))
          bad_keys.push_back(j);
      for (int64_t h = kvh * s.group_size(); h < (kvh + 1) * s.group_size(); ++h)
        for (int64_t i = 0; i < s.q_len; ++i) {
          bool affected = !row_finite(in.q_row(b, h, i), s.head_dim, limit);
          for (size_t n = 0; !affected && n < bad_keys.size() && budget > 0; ++n, --budget)
            affected = s.allowed(view, i, bad_keys[n]);
          if (!affected && budget <= 0 && !bad_keys.empty()) r.affected_exact = false;
          if (!affected) continue;
          ++r.affected_rows;
          if (r.affected_examples.size() < 5) r.affected_examples.push_back({b, h, i});
        }
    }
  return r;
}

std::string NonFiniteReport::describe(const std::string& q_name, const std::string& k_name,
                                      const std::string& v_name) const {
  std::string text;
  std::string finite;
  struct Entry { const NonFiniteTensor* t; const std::string* name; };
  for (const Entry& e : {Entry{&q, &q_name}, Entry{&k, &k_name}, Entry{&v, &v_name}}) {
    if (e.t->count() == 0) {
      finite += (finite.empty() ? "" : ", ") + *e.name;
      continue;
    }
    if (!text.empty()) text += "; ";
    text += *e.name + " has " + counts(*e.t, limit) + " (first at " + e.t->first_position + ")";
  }
  if (!finite.empty())
    text += "; " + finite + (finite.find(',') == std::string::npos ? " is" : " are") +
            (std::isinf(limit) ? " finite" : " within range");
  text += ". " + std::string(affected_exact ? "" : "At least ") + std::to_string(affected_rows) + " of " +
          std::to_string(total_rows) + " output rows would be NaN or wrong (";
  for (size_t i = 0; i < affected_examples.size(); ++i) {
    const Row& row = affected_examples[i];
    text += (i ? "; " : "") + std::string("batch ") + std::to_string(row.batch) + " head " + std::to_string(row.head) +
            " row " + std::to_string(row.row);
  }
  if (affected_rows > static_cast<int64_t>(affected_examples.size())) text += "; ...";
  text += std::isinf(limit) ? "), not masked rows: replace the non-finite values (np.isfinite finds them) and run again"
                            : ")";
  return text;
}

}  // namespace attnscope
