// beyond_runs.cpp — see beyond_runs.hpp. Also Backend's default beyond-attention methods (declared in backend.hpp):
// the CPU twins on one process-wide pool.
//
// Contents: counts · linear attention · selective scan · recurrent decode · layer timing · Backend defaults
#include "core/beyond_runs.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <new>

#include "core/cpu_gemm.hpp"
#include "core/linear_attention.hpp"
#include "core/rng.hpp"
#include "core/selective_scan.hpp"

namespace attnscope {
namespace {

double elapsed_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Runs `body` warmup + repetitions times; the timed runs' samples.
template <class Body>
Timing time_runs(int warmup, int repetitions, Body&& body) {
  std::vector<double> samples;
  for (int i = 0; i < std::max(0, warmup) + std::max(1, repetitions); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    if (i >= warmup) samples.push_back(elapsed_ms(t0));
  }
  return Timing::from_samples(std::move(samples));
}

void fill_uniform(std::vector<float>& v, uint64_t seed, uint64_t stream, double lo, double hi) {
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(lo + (hi - lo) * unit_interval(hash3(seed, stream, static_cast<uint64_t>(i))));
}

}  // namespace

const char* recurrent_model_name(RecurrentModel m) {
  return m == RecurrentModel::LinearAttention ? "linear attention" : "selective scan";
}

// ---------------------------------------------------------------- counts
double linear_attention_flops(const AttentionSpec& s, int64_t chunk) {
  const double b = static_cast<double>(s.batch), h = static_cast<double>(s.q_heads),
               hkv = static_cast<double>(s.kv_heads), n = static_cast<double>(s.kv_len),
               d = static_cast<double>(s.head_dim);
  if (!s.mask.causal) return 2 * b * n * d * d * (hkv + h) + 2 * b * h * n * d;
  const double c = static_cast<double>(std::max<int64_t>(1, chunk));
  return b * h * n * (4 * d * d + 2 * d * (c + 1) + 2 * d);
}

double linear_attention_bytes(const AttentionSpec& s) {
  return 4.0 * (2.0 * static_cast<double>(s.q_elements()) + 2.0 * static_cast<double>(s.kv_elements()));
}

double selective_scan_flops(const ScanShape& s) {
  return 9.0 * static_cast<double>(s.batch) * static_cast<double>(s.length) * static_cast<double>(s.channels) *
         static_cast<double>(s.state);
}

double selective_scan_bytes(const ScanShape& s) {
  const double bl = static_cast<double>(s.batch) * static_cast<double>(s.length);
  return 4.0 * (3.0 * bl * static_cast<double>(s.channels) + 2.0 * bl * static_cast<double>(s.state));
}

uint64_t linear_attention_state_bytes(int64_t batch, int64_t kv_heads, int64_t head_dim) {
  return 4 * static_cast<uint64_t>(batch * kv_heads * (head_dim * head_dim + head_dim));
}

uint64_t selective_scan_state_bytes(int64_t batch, int64_t channels, int64_t state) {
  return 4 * static_cast<uint64_t>(batch * channels * state);
}

// ---------------------------------------------------------------- linear attention
SequenceRunResult cpu_run_linear_attention(const LinearAttentionRunRequest& request, ThreadPool& pool,
                                           const std::string& device) {
  SequenceRunResult r;
  r.backend = "cpu";
  r.device = device;
  if (!request.inputs) {
    r.error = "no inputs given";
    return r;
  }
  const AttentionInputs& in = *request.inputs;
  const AttentionSpec& s = in.spec;
  if (std::string why = linear_attention_unsupported(s); !why.empty()) {
    r.error = why;
    return r;
  }
  if (in.q.size() != static_cast<size_t>(s.q_elements()) || in.k.size() != static_cast<size_t>(s.kv_elements()) ||
      in.v.size() != static_cast<size_t>(s.kv_elements())) {
    r.error = "input arrays do not match the spec " + s.summary();
    return r;
  }
  const bool causal = s.mask.causal;
  const int64_t chunk = std::max<int64_t>(1, request.chunk);
  r.kernel = causal ? "linear attention (φ = elu + 1), causal, chunks of " + std::to_string(chunk) + " keys (CPU twin)"
                    : "linear attention (φ = elu + 1), non-causal: φ(K)ᵀV once per head (CPU twin)";
  std::vector<float> out;
  try {
    r.timing = time_runs(request.warmup, request.repetitions, [&] {
      out = causal ? linear_attention_causal_chunked(in, chunk, pool) : linear_attention_noncausal(in, pool);
    });
  } catch (const std::bad_alloc&) {
    r.out_of_memory = true;
    r.error = "no host memory for linear attention on " + s.summary();
    return r;
  }
  r.flops = linear_attention_flops(s, chunk);
  r.bytes_moved = linear_attention_bytes(s);
  // One state (S, z) per task in flight, plus the causal form's φ(K) chunk and φ(q) row.
  const int64_t tasks = causal ? s.batch * s.q_heads : s.batch * s.kv_heads;
  const int64_t in_flight = std::min<int64_t>(tasks, pool.size());
  const int64_t d = s.head_dim;
  r.bytes_allocated = 4 * static_cast<uint64_t>(in_flight * (d * d + d + (causal ? chunk * d + d : 0)));
  r.state_bytes = linear_attention_state_bytes(s.batch, s.kv_heads, d);
  if (request.want_output) r.output = std::move(out);
  r.ok = true;
  return r;
}

// ---------------------------------------------------------------- selective scan
SequenceRunResult cpu_run_selective_scan(const SelectiveScanRunRequest& request, ThreadPool& pool,
                                         const std::string& device) {
  SequenceRunResult r;
  r.backend = "cpu";
  r.device = device;
  if (!request.inputs) {
    r.error = "no inputs given";
    return r;
  }
  const ScanInputs& in = *request.inputs;
  if (auto problems = validate(in); !problems.empty()) {
    r.error = problems.front();
    return r;
  }
  const ScanShape& s = in.shape;
  const int64_t chunk = std::max<int64_t>(1, request.chunk);
  r.kernel = "selective scan (S6), chunks of " + std::to_string(chunk) + " steps (CPU twin)";
  ScanResult out;
  try {
    r.timing = time_runs(request.warmup, request.repetitions, [&] { out = selective_scan_chunked(in, chunk, pool); });
  } catch (const std::bad_alloc&) {
    r.out_of_memory = true;
    r.error = "no host memory for the selective scan";
    return r;
  }
  r.flops = selective_scan_flops(s);
  r.bytes_moved = selective_scan_bytes(s);
  // Per (batch, channel, chunk): the local end state and the decay product; per task in flight two state rows.
  const int64_t chunks = (s.length + chunk - 1) / chunk;
  r.bytes_allocated = 4 * static_cast<uint64_t>(2 * s.batch * s.channels * chunks * s.state) +
                      4 * static_cast<uint64_t>(s.batch * s.channels * s.state) +
                      4 * static_cast<uint64_t>(2 * pool.size() * s.state);
  r.state_bytes = selective_scan_state_bytes(s.batch, s.channels, s.state);
  if (request.want_output) r.output = std::move(out.y);
  r.ok = true;
  return r;
}

// ---------------------------------------------------------------- recurrent decode
RecurrentDecodeResult cpu_recurrent_decode(const RecurrentDecodeRequest& q, ThreadPool& pool,
                                           const std::string& device) {
  RecurrentDecodeResult r;
  r.backend = "cpu";
  r.device = device;
  if (q.batch < 1 || q.contexts.empty()) {
    r.error = "a decode needs a batch of at least 1 and at least one context";
    return r;
  }
  const bool linear = q.model == RecurrentModel::LinearAttention;
  if (linear && (q.heads < 1 || q.kv_heads < 1 || q.head_dim < 1 || q.heads % q.kv_heads != 0)) {
    r.error = "linear attention decode: query heads must be a positive multiple of KV heads, head_dim >= 1";
    return r;
  }
  if (!linear && (q.channels < 1 || q.state < 1)) {
    r.error = "selective scan decode: channels and state size must be >= 1";
    return r;
  }
  const int64_t d = q.head_dim;
  r.state_bytes = linear ? linear_attention_state_bytes(q.batch, q.kv_heads, d)
                         : selective_scan_state_bytes(q.batch, q.channels, q.state);
  r.kernel = linear ? "recurrent step: S += φ(k)vᵀ, z += φ(k), o = φ(q)ᵀS / φ(q)ᵀz per KV head (CPU twin)"
                    : "recurrent step: h = exp(ΔA)∘h + ΔBx, y = C·h + Dx per channel (CPU twin)";
  try {
    // The token's inputs (fixed: the step's cost does not depend on them).
    std::vector<float> tq(static_cast<size_t>(q.batch * q.heads * d)), tk(static_cast<size_t>(q.batch * q.kv_heads * d)),
        tv(tk.size()), out(tq.size());
    fill_uniform(tq, q.seed, 1, -1, 1);
    fill_uniform(tk, q.seed, 2, -1, 1);
    fill_uniform(tv, q.seed, 3, -1, 1);
    std::vector<LinearAttentionState> states;
    // Scan: h [B, D, Nst], the token's x, Δ [B, D], B, C [B, Nst], A [D, Nst], y [B, D].
    const int64_t bd = q.batch * q.channels;
    std::vector<float> h, x, delta, bm, cm, a, y;
    if (linear) {
      states.assign(static_cast<size_t>(q.batch * q.kv_heads), LinearAttentionState(d));
    } else {
      h.resize(static_cast<size_t>(bd * q.state));
      x.resize(static_cast<size_t>(bd));
      delta.resize(x.size());
      y.resize(x.size());
      bm.resize(static_cast<size_t>(q.batch * q.state));
      cm.resize(bm.size());
      a.resize(static_cast<size_t>(q.channels * q.state));
      fill_uniform(x, q.seed, 4, -1, 1);
      fill_uniform(delta, q.seed, 5, 0.001, 0.1);
      fill_uniform(bm, q.seed, 6, -1, 1);
      fill_uniform(cm, q.seed, 7, -1, 1);
      fill_uniform(a, q.seed, 8, -8, -0.5);
    }
    for (const int64_t t : q.contexts) {
      // The state t tokens leave: a sum of t positive feature products (entries about t·φ·v, z about t·φ), or a
      // decayed scan state (bounded whatever t is).
      if (linear) {
        for (size_t i = 0; i < states.size(); ++i) {
          fill_uniform(states[i].s, q.seed ^ static_cast<uint64_t>(t), 10 + i, -0.5 * t, 0.5 * t);
          fill_uniform(states[i].z, q.seed ^ static_cast<uint64_t>(t), 1000000 + i, 0.5 * t, 1.5 * t);
        }
      } else {
        fill_uniform(h, q.seed ^ static_cast<uint64_t>(t), 9, -1, 1);
      }
      auto step = [&] {
        if (linear) {
          const int64_t group = q.heads / q.kv_heads;
          pool.parallel_for(q.batch * q.kv_heads, [&](int64_t task, int) {
            const int64_t b = task / q.kv_heads, g = task % q.kv_heads;
            LinearAttentionState& st = states[static_cast<size_t>(task)];
            st.append(&tk[static_cast<size_t>(task * d)], &tv[static_cast<size_t>(task * d)]);
            for (int64_t hh = g * group; hh < (g + 1) * group; ++hh) {
              const size_t row = static_cast<size_t>((b * q.heads + hh) * d);
              st.read(&tq[row], &out[row]);
            }
          });
        } else {
          // Channels in blocks of 64 per task: one channel's step is a few dozen FLOPs.
          const int64_t block = 64, blocks = (bd + block - 1) / block;
          pool.parallel_for(blocks, [&](int64_t task, int) {
            for (int64_t i = task * block; i < std::min(bd, (task + 1) * block); ++i) {
              const int64_t b = i / q.channels, c = i % q.channels;
              const float dt = delta[static_cast<size_t>(i)], xi = x[static_cast<size_t>(i)];
              float* hi = &h[static_cast<size_t>(i * q.state)];
              float acc = xi;  // Dskip = 1
              for (int64_t n = 0; n < q.state; ++n) {
                hi[n] = std::exp(dt * a[static_cast<size_t>(c * q.state + n)]) * hi[n] +
                        dt * bm[static_cast<size_t>(b * q.state + n)] * xi;
                acc += cm[static_cast<size_t>(b * q.state + n)] * hi[n];
              }
              y[static_cast<size_t>(i)] = acc;
            }
          });
        }
      };
      RecurrentDecodeSample sample;
      sample.context = t;
      sample.timing = time_runs(1, q.repetitions, step);
      r.samples.push_back(std::move(sample));
    }
  } catch (const std::bad_alloc&) {
    r.error = "no host memory for the recurrent state (" + format_bytes(static_cast<double>(r.state_bytes)) + ")";
    return r;
  }
  r.ok = true;
  return r;
}

// ---------------------------------------------------------------- layer timing
std::vector<double> layer_part_flops(const LayerTimingRequest& q) {
  const double bn = static_cast<double>(q.batch) * static_cast<double>(q.tokens);
  const double n = static_cast<double>(q.tokens), dm = static_cast<double>(q.d_model),
               hd = static_cast<double>(q.heads * q.head_dim);
  const double rho = q.causal ? (n + 1) / (2 * n) : 1.0;
  return {2 * bn * dm * static_cast<double>((q.heads + 2 * q.kv_heads) * q.head_dim),
          4 * static_cast<double>(q.batch) * n * n * hd * rho, 2 * bn * hd * dm,
          2 * bn * dm * static_cast<double>(q.mlp_hidden) * (q.gated_mlp ? 3 : 2)};
}

AttentionSpec layer_attention_spec(const LayerTimingRequest& q) {
  AttentionSpec spec;
  spec.batch = q.batch;
  spec.q_heads = q.heads;
  spec.kv_heads = q.kv_heads;
  spec.q_len = spec.kv_len = q.tokens;
  spec.head_dim = q.head_dim;
  spec.mask.causal = q.causal;
  spec.dtype = q.dtype;
  return spec;
}

LayerTimingResult cpu_time_layer(const LayerTimingRequest& q, Backend& backend, ThreadPool& pool) {
  LayerTimingResult r;
  r.backend = backend.name();
  r.device = backend.device_name();
  if (q.batch < 1 || q.tokens < 1 || q.d_model < 1 || q.heads < 1 || q.kv_heads < 1 || q.head_dim < 1 ||
      q.mlp_hidden < 1 || q.heads % q.kv_heads != 0) {
    r.error = "a block needs positive sizes and query heads a multiple of KV heads";
    return r;
  }
  const int64_t bn = q.batch * q.tokens, qkv_cols = (q.heads + 2 * q.kv_heads) * q.head_dim,
                hd = q.heads * q.head_dim, ffn = q.mlp_hidden;
  const std::vector<double> flops = layer_part_flops(q);
  auto dims = [](int64_t m, int64_t k, int64_t n) {
    return std::to_string(m) + "×" + std::to_string(k) + " · " + std::to_string(k) + "×" + std::to_string(n);
  };
  try {
    std::vector<float> x(static_cast<size_t>(bn * q.d_model)), w_qkv(static_cast<size_t>(q.d_model * qkv_cols)),
        qkv(static_cast<size_t>(bn * qkv_cols)), w_o(static_cast<size_t>(hd * q.d_model)),
        attn(static_cast<size_t>(bn * hd)), proj(static_cast<size_t>(bn * q.d_model)),
        w1(static_cast<size_t>(q.d_model * ffn)), w3(q.gated_mlp ? w1.size() : 0), w2(static_cast<size_t>(ffn * q.d_model)),
        up(static_cast<size_t>(bn * ffn)), gate(q.gated_mlp ? up.size() : 0), down(proj.size());
    r.weight_bytes = 4 * static_cast<uint64_t>(w_qkv.size() + w_o.size() + w1.size() + w3.size() + w2.size());
    // Weights of a trained layer's scale (±1/√fan-in), inputs ±1: the timing does not depend on the values.
    fill_uniform(x, q.seed, 1, -1, 1);
    fill_uniform(attn, q.seed, 2, -1, 1);
    const double sm = 1 / std::sqrt(static_cast<double>(q.d_model)), sf = 1 / std::sqrt(static_cast<double>(ffn));
    fill_uniform(w_qkv, q.seed, 3, -sm, sm);
    fill_uniform(w_o, q.seed, 4, -sm, sm);
    fill_uniform(w1, q.seed, 5, -sm, sm);
    fill_uniform(w3, q.seed, 6, -sm, sm);
    fill_uniform(w2, q.seed, 7, -sf, sf);

    LayerPartTiming qkv_part{kLayerParts[0], {}, flops[0], "cpu_gemm " + dims(bn, q.d_model, qkv_cols)};
    qkv_part.timing = time_runs(q.warmup, q.repetitions, [&] {
      cpu_gemm(x.data(), w_qkv.data(), qkv.data(), {bn, qkv_cols, q.d_model}, pool);
    });
    r.parts.push_back(qkv_part);

    // Attention through the backend: its own kernel, on inputs of the block's shape.
    const AttentionSpec spec = layer_attention_spec(q);
    const AttentionInputs inputs = generate_inputs(spec, Generator::Gaussian, q.seed);
    RunRequest run;
    run.algorithm = q.attention;
    run.inputs = &inputs;
    run.warmup = q.warmup;
    run.repetitions = q.repetitions;
    run.want_output = false;
    const RunResult a = backend.run(run);
    if (!a.ok) {
      r.error = "attention (" + std::string(algorithm_name(q.attention)) + "): " + a.error;
      r.out_of_memory = a.out_of_memory;
      return r;
    }
    r.parts.push_back({kLayerParts[1], a.timing, flops[1],
                       a.kernel.empty() ? std::string(algorithm_name(q.attention)) + " on " + backend.name() : a.kernel});

    LayerPartTiming out_part{kLayerParts[2], {}, flops[2], "cpu_gemm " + dims(bn, hd, q.d_model)};
    out_part.timing = time_runs(q.warmup, q.repetitions, [&] {
      cpu_gemm(attn.data(), w_o.data(), proj.data(), {bn, q.d_model, hd}, pool);
    });
    r.parts.push_back(out_part);

    LayerPartTiming mlp_part{kLayerParts[3], {}, flops[3],
                             std::string(q.gated_mlp ? "SwiGLU" : "GELU") + " MLP: cpu_gemm " +
                                 dims(bn, q.d_model, ffn) + (q.gated_mlp ? " (×2)" : "") + ", " +
                                 dims(bn, ffn, q.d_model)};
    mlp_part.timing = time_runs(q.warmup, q.repetitions, [&] {
      cpu_gemm(x.data(), w1.data(), up.data(), {bn, ffn, q.d_model}, pool);
      if (q.gated_mlp) {
        cpu_gemm(x.data(), w3.data(), gate.data(), {bn, ffn, q.d_model}, pool);
        // silu(u)·g = u·g / (1 + e^(−u)), elementwise, split across the pool.
        const int64_t total = bn * ffn, block = 1 << 14;
        pool.parallel_for((total + block - 1) / block, [&](int64_t t, int) {
          for (int64_t i = t * block; i < std::min(total, (t + 1) * block); ++i)
            up[static_cast<size_t>(i)] = up[static_cast<size_t>(i)] * gate[static_cast<size_t>(i)] /
                                         (1.0f + std::exp(-up[static_cast<size_t>(i)]));
        });
      } else {
        // gelu(u) ≈ u·σ(1.702·u), elementwise.
        const int64_t total = bn * ffn, block = 1 << 14;
        pool.parallel_for((total + block - 1) / block, [&](int64_t t, int) {
          for (int64_t i = t * block; i < std::min(total, (t + 1) * block); ++i)
            up[static_cast<size_t>(i)] /= 1.0f + std::exp(-1.702f * up[static_cast<size_t>(i)]);
        });
      }
      cpu_gemm(up.data(), w2.data(), down.data(), {bn, q.d_model, ffn}, pool);
    });
    r.parts.push_back(mlp_part);
  } catch (const std::bad_alloc&) {
    r.out_of_memory = true;
    r.error = "no host memory for the block's weights and activations";
    return r;
  }
  r.ok = true;
  return r;
}

// ---------------------------------------------------------------- Backend defaults
namespace {

// Backends without kernels of their own share this pool; calls are serialised (one run at a time, as backends are).
ThreadPool& default_twin_pool() {
  static ThreadPool pool(0);
  return pool;
}
std::mutex& default_twin_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

SequenceRunResult Backend::run_linear_attention(const LinearAttentionRunRequest& request) {
  std::lock_guard lock(default_twin_mutex());
  SequenceRunResult r = cpu_run_linear_attention(request, default_twin_pool(), "host CPU");
  r.backend = name();
  r.kernel += " — " + name() + " backend has no kernel of its own: ran on the host";
  return r;
}

SequenceRunResult Backend::run_selective_scan(const SelectiveScanRunRequest& request) {
  std::lock_guard lock(default_twin_mutex());
  SequenceRunResult r = cpu_run_selective_scan(request, default_twin_pool(), "host CPU");
  r.backend = name();
  r.kernel += " — " + name() + " backend has no kernel of its own: ran on the host";
  return r;
}

RecurrentDecodeResult Backend::recurrent_decode(const RecurrentDecodeRequest& request) {
  std::lock_guard lock(default_twin_mutex());
  RecurrentDecodeResult r = cpu_recurrent_decode(request, default_twin_pool(), "host CPU");
  r.backend = name();
  return r;
}

LayerTimingResult Backend::time_layer(const LayerTimingRequest& request) {
  std::lock_guard lock(default_twin_mutex());
  return cpu_time_layer(request, *this, default_twin_pool());
}

}  // namespace attnscope
