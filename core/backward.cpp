// backward.cpp — attention's backward pass: reference (double), naive and flash twins (float). See backward.hpp.
#include "core/backward.hpp"

#include "core/rng.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>

namespace attnscope {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct Dims {
  int64_t B, H, Hkv, Nq, Nk, d, group;
  explicit Dims(const AttentionSpec& s)
      : B(s.batch), H(s.q_heads), Hkv(s.kv_heads), Nq(s.q_len), Nk(s.kv_len), d(s.head_dim), group(s.group_size()) {}
  int64_t q_index(int64_t b, int64_t h, int64_t i) const { return ((b * H + h) * Nq + i) * d; }
  int64_t kv_index(int64_t b, int64_t g, int64_t j) const { return ((b * Hkv + g) * Nk + j) * d; }
  int64_t row(int64_t b, int64_t h, int64_t i) const { return (b * H + h) * Nq + i; }
};

template <typename T>
double dot(const T* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t x = 0; x < n; ++x) s += static_cast<double>(a[x]) * b[x];
  return s;
}

}  // namespace

std::vector<float> random_d_out(const AttentionSpec& spec, uint64_t seed) {
  std::vector<float> g(static_cast<size_t>(spec.q_elements()));
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(2.0 * unit_interval(hash3(seed, i, 0xd0)) - 1.0);
  return g;
}

BackwardReference reference_backward(const AttentionInputs& in, const std::vector<float>& d_out) {
  const AttentionSpec& spec = in.spec;
  const Dims n(spec);
  const double scale = spec.softmax_scale();
  const MaskView mask = spec.mask.view();
  BackwardReference r;
  r.dq.assign(in.q.size(), 0.0);
  r.dk.assign(in.k.size(), 0.0);
  r.dv.assign(in.v.size(), 0.0);
  r.output.assign(in.q.size(), 0.0);
  r.lse.assign(static_cast<size_t>(n.B * n.H * n.Nq), kNegInf);
  std::vector<double> s(static_cast<size_t>(n.Nk)), p(static_cast<size_t>(n.Nk)), dp(static_cast<size_t>(n.Nk));
  for (int64_t b = 0; b < n.B; ++b)
    for (int64_t h = 0; h < n.H; ++h) {
      const int64_t g = spec.kv_head_of(h);
      for (int64_t i = 0; i < n.Nq; ++i) {
        const float* q = in.q_row(b, h, i);
        double m = kNegInf;
        for (int64_t j = 0; j < n.Nk; ++j) {
          s[j] = spec.allowed(mask, i, j) ? scale * dot(q, in.k_row(b, g, j), n.d) : kNegInf;
          m = std::max(m, s[j]);
        }
        if (m == kNegInf) continue;  // fully masked: zero output, no gradient
        double l = 0;
        for (int64_t j = 0; j < n.Nk; ++j) l += (p[j] = s[j] == kNegInf ? 0.0 : std::exp(s[j] - m));
        for (int64_t j = 0; j < n.Nk; ++j) p[j] /= l;
        r.lse[n.row(b, h, i)] = m + std::log(l);
        double* o = &r.output[n.q_index(b, h, i)];
        for (int64_t j = 0; j < n.Nk; ++j)
          if (p[j] != 0)
            for (int64_t x = 0; x < n.d; ++x) o[x] += p[j] * in.v_row(b, g, j)[x];
        const float* go = &d_out[n.q_index(b, h, i)];
        double D = 0;
        for (int64_t x = 0; x < n.d; ++x) D += static_cast<double>(go[x]) * o[x];
        double* dq = &r.dq[n.q_index(b, h, i)];
        for (int64_t j = 0; j < n.Nk; ++j) {
          if (p[j] == 0) continue;
          dp[j] = dot(go, in.v_row(b, g, j), n.d);
          const double ds = p[j] * (dp[j] - D);
          const float* k = in.k_row(b, g, j);
          double* dk = &r.dk[n.kv_index(b, g, j)];
          double* dv = &r.dv[n.kv_index(b, g, j)];
          for (int64_t x = 0; x < n.d; ++x) {
            dq[x] += scale * ds * k[x];
            dk[x] += scale * ds * q[x];
            dv[x] += p[j] * go[x];
          }
        }
      }
    }
  return r;
}

BackwardResult naive_backward(const AttentionInputs& in, const std::vector<float>& d_out, ThreadPool& pool) {
  const AttentionSpec& spec = in.spec;
  const Dims n(spec);
  const float scale = static_cast<float>(spec.softmax_scale());
  const MaskView mask = spec.mask.view();
  BackwardResult r;
  r.dq.assign(in.q.size(), 0.0f);
  r.dk.assign(in.k.size(), 0.0f);
  r.dv.assign(in.v.size(), 0.0f);
  // One task per (batch, KV head): its group's heads run one after another, each materialising P, dP and dS
  // (Nq × Nk floats each) as the unfused path does, and dK, dV of the KV head accumulate over the group.
  const int64_t tasks = n.B * n.Hkv;
  // Per task running at once: P and dP (dS is written over dP), Nq·Nk floats each, and the forward's O rows.
  r.bytes_allocated = static_cast<uint64_t>(2 * n.Nq * n.Nk + n.Nq * n.d) * sizeof(float) *
                      static_cast<uint64_t>(std::min<int64_t>(tasks, pool.size()));
  pool.parallel_for(tasks, [&](int64_t task, int) {
    const int64_t b = task / n.Hkv, g = task % n.Hkv;
    std::vector<float> P(static_cast<size_t>(n.Nq * n.Nk)), dP(P.size()), O(static_cast<size_t>(n.Nq * n.d));
    for (int64_t h = g * n.group; h < (g + 1) * n.group; ++h) {
      // Forward, kept: P = softmax(scale·QKᵀ) and O = PV.
      for (int64_t i = 0; i < n.Nq; ++i) {
        float* p = &P[i * n.Nk];
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < n.Nk; ++j) {
          p[j] = spec.allowed(mask, i, j) ? scale * static_cast<float>(dot(in.q_row(b, h, i), in.k_row(b, g, j), n.d))
                                          : -std::numeric_limits<float>::infinity();
          m = std::max(m, p[j]);
        }
        float l = 0;
        for (int64_t j = 0; j < n.Nk; ++j) l += (p[j] = (m == -std::numeric_limits<float>::infinity() || std::isinf(p[j])) ? 0.0f : std::exp(p[j] - m));
        for (int64_t j = 0; j < n.Nk; ++j) p[j] = l > 0 ? p[j] / l : 0.0f;
        float* o = &O[i * n.d];
        std::fill(o, o + n.d, 0.0f);
        for (int64_t j = 0; j < n.Nk; ++j)
          if (p[j] != 0)
            for (int64_t x = 0; x < n.d; ++x) o[x] += p[j] * in.v_row(b, g, j)[x];
      }
      // dP = dO Vᵀ, then dS = P ∘ (dP − D) in place.
      for (int64_t i = 0; i < n.Nq; ++i) {
        const float* go = &d_out[n.q_index(b, h, i)];
        float D = 0;
        for (int64_t x = 0; x < n.d; ++x) D += go[x] * O[i * n.d + x];
        for (int64_t j = 0; j < n.Nk; ++j) {
          float* ds = &dP[i * n.Nk + j];
          *ds = static_cast<float>(dot(go, in.v_row(b, g, j), n.d));
          *ds = P[i * n.Nk + j] * (*ds - D);
        }
      }
      // dQ = scale·dS K;  dK += scale·dSᵀ Q;  dV += Pᵀ dO.
      for (int64_t i = 0; i < n.Nq; ++i) {
        float* dq = &r.dq[n.q_index(b, h, i)];
        const float* q = in.q_row(b, h, i);
        const float* go = &d_out[n.q_index(b, h, i)];
        for (int64_t j = 0; j < n.Nk; ++j) {
          const float ds = dP[i * n.Nk + j], p = P[i * n.Nk + j];
          if (p == 0) continue;
          const float* k = in.k_row(b, g, j);
          float* dk = &r.dk[n.kv_index(b, g, j)];
          float* dv = &r.dv[n.kv_index(b, g, j)];
          for (int64_t x = 0; x < n.d; ++x) {
            dq[x] += scale * ds * k[x];
            dk[x] += scale * ds * q[x];
            dv[x] += p * go[x];
          }
        }
      }
    }
  });
  r.ok = true;
  return r;
}

ForwardWithLse flash_forward_for_backward(const AttentionInputs& in, ThreadPool& pool) {
  const AttentionSpec& spec = in.spec;
  const Dims n(spec);
  const float scale = static_cast<float>(spec.softmax_scale());
  const MaskView mask = spec.mask.view();
  ForwardWithLse f;
  f.output.assign(in.q.size(), 0.0f);
  f.lse.assign(static_cast<size_t>(n.B * n.H * n.Nq), -std::numeric_limits<float>::infinity());
  pool.parallel_for(n.B * n.H * n.Nq, [&](int64_t row, int) {
    const int64_t i = row % n.Nq, h = (row / n.Nq) % n.H, b = row / (n.Nq * n.H);
    const int64_t g = spec.kv_head_of(h);
    // Online softmax over the keys (one row of the FA-2 forward): m, l and the unnormalised accumulator.
    float m = -std::numeric_limits<float>::infinity(), l = 0;
    float* o = &f.output[n.q_index(b, h, i)];
    for (int64_t j = 0; j < n.Nk; ++j) {
      if (!spec.allowed(mask, i, j)) continue;
      const float s = scale * static_cast<float>(dot(in.q_row(b, h, i), in.k_row(b, g, j), n.d));
      const float m_new = std::max(m, s);
      const float rescale = std::exp(m - m_new), p = std::exp(s - m_new);
      l = l * rescale + p;
      for (int64_t x = 0; x < n.d; ++x) o[x] = o[x] * rescale + p * in.v_row(b, g, j)[x];
      m = m_new;
    }
    if (l > 0) {
      for (int64_t x = 0; x < n.d; ++x) o[x] /= l;
      f.lse[static_cast<size_t>(row)] = m + std::log(l);
    }
  });
  return f;
}

BackwardResult flash_backward(const AttentionInputs& in, const std::vector<float>& output,
                              const std::vector<float>& lse, const std::vector<float>& d_out, const TileConfig& tiles,
                              ThreadPool& pool, BackwardTrace* trace) {
  const AttentionSpec& spec = in.spec;
  const Dims n(spec);
  const float scale = static_cast<float>(spec.softmax_scale());
  const MaskView mask = spec.mask.view();
  BackwardResult r;
  if (tiles.br < 1 || tiles.bc < 1) {
    r.error = "tile sizes must be at least 1";
    return r;
  }
  r.dq.assign(in.q.size(), 0.0f);
  r.dk.assign(in.k.size(), 0.0f);
  r.dv.assign(in.v.size(), 0.0f);
  // D_i = rowsum(dO ∘ O): one pass before the main loop, as FA-2's preprocessing kernel.
  std::vector<float> D(static_cast<size_t>(n.B * n.H * n.Nq));
  for (int64_t row = 0; row < n.B * n.H * n.Nq; ++row) {
    float s = 0;
    for (int64_t x = 0; x < n.d; ++x) s += d_out[row * n.d + x] * output[row * n.d + x];
    D[static_cast<size_t>(row)] = s;
  }
  r.bytes_allocated = D.size() * sizeof(float) + lse.size() * sizeof(float);
  const int64_t tc = (n.Nk + tiles.bc - 1) / tiles.bc, tr = (n.Nq + tiles.br - 1) / tiles.br;
  const auto trace_start = std::chrono::steady_clock::now();
  auto now_ns = [&] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - trace_start).count();
  };
  if (trace) {
    trace->source = "cpu";
    trace->spec = spec.summary();
    trace->br = tiles.br;
    trace->bc = tiles.bc;
    trace->tr = static_cast<int32_t>(tr);
    trace->tc = static_cast<int32_t>(tc);
    trace->units = pool.size();
    trace->tasks.assign(static_cast<size_t>(n.B * n.Hkv * tc), BackwardTaskRecord{});
  }
  // One task per (batch, KV head, K/V tile): dK_j and dV_j stay local to the task (on chip, on the GPU) and
  // are written once; every Q tile of every query head of the group is visited, S and P recomputed from lse.
  pool.parallel_for(n.B * n.Hkv * tc, [&](int64_t task, int worker) {
    const int64_t jt = task % tc, g = (task / tc) % n.Hkv, b = task / (tc * n.Hkv);
    const int64_t j0 = jt * tiles.bc, j1 = std::min(n.Nk, j0 + tiles.bc);
    std::vector<float> dk(static_cast<size_t>((j1 - j0) * n.d), 0.0f), dv(dk.size(), 0.0f);
    std::vector<float> p(static_cast<size_t>(j1 - j0));
    BackwardTaskRecord* record = trace ? &trace->tasks[static_cast<size_t>(task)] : nullptr;
    if (record) *record = BackwardTaskRecord{static_cast<int32_t>(b), static_cast<int32_t>(g), static_cast<int32_t>(jt),
                                             worker, {}};
    for (int64_t h = g * n.group; h < (g + 1) * n.group; ++h)
      for (int64_t it = 0; it < tr; ++it) {
        BackwardQVisit* visit = nullptr;
        if (record) {
          record->visits.push_back(BackwardQVisit{static_cast<int32_t>(h), static_cast<int32_t>(it), now_ns(), 0, 0});
          visit = &record->visits.back();
          for (int64_t i = it * tiles.br; i < std::min(n.Nq, (it + 1) * tiles.br); ++i)
            for (int64_t j = j0; j < j1; ++j) visit->pairs += spec.allowed(mask, i, j) ? 1 : 0;
        }
        for (int64_t i = it * tiles.br; i < std::min(n.Nq, (it + 1) * tiles.br); ++i) {
          const int64_t row = n.row(b, h, i);
          const float row_lse = lse[static_cast<size_t>(row)];
          if (std::isinf(row_lse)) continue;  // fully masked row: no gradient
          const float* q = in.q_row(b, h, i);
          const float* go = &d_out[row * n.d];
          bool any = false;
          for (int64_t j = j0; j < j1; ++j) {
            const bool allowed = spec.allowed(mask, i, j);
            p[j - j0] = allowed ? std::exp(scale * static_cast<float>(dot(q, in.k_row(b, g, j), n.d)) - row_lse) : 0.0f;
            any = any || allowed;
          }
          if (!any) continue;  // an empty (row, tile) pair: skipped, as the kernel skips empty tiles
          float* dq = &r.dq[n.q_index(b, h, i)];
          for (int64_t j = j0; j < j1; ++j) {
            const float pj = p[j - j0];
            if (pj == 0) continue;
            const float ds = pj * (static_cast<float>(dot(go, in.v_row(b, g, j), n.d)) - D[static_cast<size_t>(row)]);
            const float* k = in.k_row(b, g, j);
            float* dkj = &dk[(j - j0) * n.d];
            float* dvj = &dv[(j - j0) * n.d];
            for (int64_t x = 0; x < n.d; ++x) {
              dkj[x] += scale * ds * q[x];
              dvj[x] += pj * go[x];
              std::atomic_ref<float>(dq[x]).fetch_add(scale * ds * k[x], std::memory_order_relaxed);
            }
          }
        }
        if (visit) visit->end_ns = now_ns();
      }
    for (int64_t j = j0; j < j1; ++j)
      for (int64_t x = 0; x < n.d; ++x) {
        r.dk[n.kv_index(b, g, j) + x] = dk[(j - j0) * n.d + x];
        r.dv[n.kv_index(b, g, j) + x] = dv[(j - j0) * n.d + x];
      }
  });
  r.ok = true;
  return r;
}

NaiveForwardSaved naive_forward_saving_p(const AttentionInputs& in, ThreadPool& pool) {
  const AttentionSpec& spec = in.spec;
  const Dims n(spec);
  const float scale = static_cast<float>(spec.softmax_scale());
  const MaskView mask = spec.mask.view();
  constexpr float kNegInfF = -std::numeric_limits<float>::infinity();
  NaiveForwardSaved f;
  f.output.assign(in.q.size(), 0.0f);
  f.p.assign(static_cast<size_t>(n.B * n.H * n.Nq * n.Nk), 0.0f);
  // One task per query row: S row = scale·q Kᵀ (masked: -inf), P row = softmax(S row) kept, O row = P row V.
  pool.parallel_for(n.B * n.H * n.Nq, [&](int64_t row, int) {
    const int64_t i = row % n.Nq, h = (row / n.Nq) % n.H, b = row / (n.Nq * n.H);
    const int64_t g = spec.kv_head_of(h);
    float* p = &f.p[static_cast<size_t>(row * n.Nk)];
    float m = kNegInfF;
    for (int64_t j = 0; j < n.Nk; ++j) {
      p[j] = spec.allowed(mask, i, j) ? scale * static_cast<float>(dot(in.q_row(b, h, i), in.k_row(b, g, j), n.d))
                                      : kNegInfF;
      m = std::max(m, p[j]);
    }
    if (m == kNegInfF) {  // fully masked: P row and O row stay zero
      std::fill(p, p + n.Nk, 0.0f);
      return;
    }
    float l = 0;
    for (int64_t j = 0; j < n.Nk; ++j) l += (p[j] = p[j] == kNegInfF ? 0.0f : std::exp(p[j] - m));
    float* o = &f.output[n.q_index(b, h, i)];
    for (int64_t j = 0; j < n.Nk; ++j) {
      p[j] /= l;
      if (p[j] != 0)
        for (int64_t x = 0; x < n.d; ++x) o[x] += p[j] * in.v_row(b, g, j)[x];
    }
  });
  return f;
}

BackwardResult naive_backward_from_saved(const AttentionInputs& in, const NaiveForwardSaved& saved,
                                         const std::vector<float>& d_out, ThreadPool& pool) {
  const AttentionSpec& spec = in.spec;
  const Dims n(spec);
  const float scale = static_cast<float>(spec.softmax_scale());
  BackwardResult r;
  if (saved.p.size() != static_cast<size_t>(n.B * n.H * n.Nq * n.Nk) || saved.output.size() != in.q.size()) {
    r.error = "the saved P or O does not match the spec " + spec.summary();
    return r;
  }
  r.dq.assign(in.q.size(), 0.0f);
  r.dk.assign(in.k.size(), 0.0f);
  r.dv.assign(in.v.size(), 0.0f);
  // One task per (batch, KV head), as naive_backward: dK and dV of the KV head accumulate over its group's heads.
  const int64_t tasks = n.B * n.Hkv;
  r.bytes_allocated = static_cast<uint64_t>(n.Nq * n.Nk) * sizeof(float) *
                      static_cast<uint64_t>(std::min<int64_t>(tasks, pool.size()));
  pool.parallel_for(tasks, [&](int64_t task, int) {
    const int64_t b = task / n.Hkv, g = task % n.Hkv;
    std::vector<float> dS(static_cast<size_t>(n.Nq * n.Nk));
    for (int64_t h = g * n.group; h < (g + 1) * n.group; ++h) {
      const float* P = &saved.p[static_cast<size_t>(n.row(b, h, 0) * n.Nk)];
      // dP = dO Vᵀ, then dS = P ∘ (dP − D) in place, D_i = rowsum(dO ∘ O).
      for (int64_t i = 0; i < n.Nq; ++i) {
        const float* go = &d_out[n.q_index(b, h, i)];
        const float* o = &saved.output[n.q_index(b, h, i)];
        float D = 0;
        for (int64_t x = 0; x < n.d; ++x) D += go[x] * o[x];
        for (int64_t j = 0; j < n.Nk; ++j) {
          const float p = P[i * n.Nk + j];
          dS[i * n.Nk + j] = p == 0 ? 0.0f : p * (static_cast<float>(dot(go, in.v_row(b, g, j), n.d)) - D);
        }
      }
      // dQ = scale·dS K;  dK += scale·dSᵀ Q;  dV += Pᵀ dO.
      for (int64_t i = 0; i < n.Nq; ++i) {
        float* dq = &r.dq[n.q_index(b, h, i)];
        const float* q = in.q_row(b, h, i);
        const float* go = &d_out[n.q_index(b, h, i)];
        for (int64_t j = 0; j < n.Nk; ++j) {
          const float p = P[i * n.Nk + j];
          if (p == 0) continue;
          const float ds = dS[i * n.Nk + j];
          const float* k = in.k_row(b, g, j);
          float* dk = &r.dk[n.kv_index(b, g, j)];
          float* dv = &r.dv[n.kv_index(b, g, j)];
          for (int64_t x = 0; x < n.d; ++x) {
            dq[x] += scale * ds * k[x];
            dk[x] += scale * ds * q[x];
            dv[x] += p * go[x];
          }
        }
      }
    }
  });
  r.ok = true;
  return r;
}

}  // namespace attnscope
