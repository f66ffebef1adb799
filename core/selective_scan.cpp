// selective_scan.cpp — see selective_scan.hpp.
#include "core/selective_scan.hpp"

#include <cmath>

#include "core/rng.hpp"

namespace attnscope {
namespace {

struct Index {
  ScanShape s;
  int64_t xt(int64_t b, int64_t t, int64_t c) const { return (b * s.length + t) * s.channels + c; }
  int64_t bt(int64_t b, int64_t t, int64_t n) const { return (b * s.length + t) * s.state + n; }
  int64_t an(int64_t c, int64_t n) const { return c * s.state + n; }
  int64_t hn(int64_t b, int64_t c, int64_t n) const { return (b * s.channels + c) * s.state + n; }
};

}  // namespace

std::vector<std::string> validate(const ScanInputs& in) {
  std::vector<std::string> p;
  const ScanShape& s = in.shape;
  auto range = [&](const char* name, int64_t v, int64_t max) {
    if (v < 1 || v > max) p.push_back(std::string(name) + " " + std::to_string(v) + ": must be 1.." + std::to_string(max));
  };
  range("batch", s.batch, 1 << 12);
  range("length", s.length, int64_t{1} << 24);
  range("channels", s.channels, 1 << 16);
  range("state size", s.state, 256);
  if (!p.empty()) return p;
  auto size = [&](const char* name, const std::vector<float>& v, int64_t want, bool optional = false) {
    if (optional && v.empty()) return;
    if (static_cast<int64_t>(v.size()) != want)
      p.push_back(std::string(name) + " has " + std::to_string(v.size()) + " values; the shape needs " + std::to_string(want));
  };
  size("x", in.x, s.batch * s.length * s.channels);
  size("delta", in.delta, s.batch * s.length * s.channels);
  size("A", in.a, s.channels * s.state);
  size("B", in.b, s.batch * s.length * s.state);
  size("C", in.c, s.batch * s.length * s.state);
  size("D", in.d_skip, s.channels);
  size("h_in", in.h_in, s.batch * s.channels * s.state, true);
  return p;
}

ScanInputs generate_scan_inputs(const ScanShape& shape, uint64_t seed) {
  ScanInputs in;
  in.shape = shape;
  auto fill = [&](std::vector<float>& v, int64_t n, uint64_t stream, double lo, double hi) {
    v.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      v[static_cast<size_t>(i)] = static_cast<float>(lo + (hi - lo) * unit_interval(hash3(seed, stream, static_cast<uint64_t>(i))));
  };
  const int64_t bl = shape.batch * shape.length;
  fill(in.x, bl * shape.channels, 1, -1, 1);
  fill(in.delta, bl * shape.channels, 2, 0.001, 0.1);
  fill(in.a, shape.channels * shape.state, 3, -8, -0.5);
  fill(in.b, bl * shape.state, 4, -1, 1);
  fill(in.c, bl * shape.state, 5, -1, 1);
  fill(in.d_skip, shape.channels, 6, -1, 1);
  return in;
}

ScanOutput selective_scan_reference(const ScanInputs& in) {
  const Index ix{in.shape};
  const ScanShape& s = in.shape;
  ScanOutput out;
  out.y.assign(in.x.size(), 0.0);
  out.h_out.assign(static_cast<size_t>(s.batch * s.channels * s.state), 0.0);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t n = 0; n < s.state; ++n) {
        double h = in.h_in.empty() ? 0.0 : in.h_in[ix.hn(b, c, n)];
        for (int64_t t = 0; t < s.length; ++t) {
          const double dt = in.delta[ix.xt(b, t, c)];
          h = std::exp(dt * in.a[ix.an(c, n)]) * h + dt * in.b[ix.bt(b, t, n)] * in.x[ix.xt(b, t, c)];
          out.y[ix.xt(b, t, c)] += in.c[ix.bt(b, t, n)] * h;
        }
        out.h_out[ix.hn(b, c, n)] = h;
      }
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t t = 0; t < s.length; ++t)
      for (int64_t c = 0; c < s.channels; ++c) out.y[ix.xt(b, t, c)] += static_cast<double>(in.d_skip[c]) * in.x[ix.xt(b, t, c)];
  return out;
}

ScanResult selective_scan_recurrent(const ScanInputs& in, ThreadPool& pool) {
  const Index ix{in.shape};
  const ScanShape& s = in.shape;
  ScanResult r;
  r.y.assign(in.x.size(), 0.0f);
  r.h_out.assign(static_cast<size_t>(s.batch * s.channels * s.state), 0.0f);
  // One task per (batch, channel): its Nst states step through time together (the decode step of one channel).
  pool.parallel_for(s.batch * s.channels, [&](int64_t task, int) {
    const int64_t b = task / s.channels, c = task % s.channels;
    float* h = &r.h_out[ix.hn(b, c, 0)];
    for (int64_t n = 0; n < s.state; ++n) h[n] = in.h_in.empty() ? 0.0f : in.h_in[ix.hn(b, c, n)];
    for (int64_t t = 0; t < s.length; ++t) {
      const float dt = in.delta[ix.xt(b, t, c)], x = in.x[ix.xt(b, t, c)];
      float y = in.d_skip[c] * x;
      for (int64_t n = 0; n < s.state; ++n) {
        h[n] = std::exp(dt * in.a[ix.an(c, n)]) * h[n] + dt * in.b[ix.bt(b, t, n)] * x;
        y += in.c[ix.bt(b, t, n)] * h[n];
      }
      r.y[ix.xt(b, t, c)] = y;
    }
  });
  return r;
}

ScanResult selective_scan_chunked(const ScanInputs& in, int64_t chunk, ThreadPool& pool) {
  const Index ix{in.shape};
  const ScanShape& s = in.shape;
  if (chunk < 1) chunk = 1;
  const int64_t chunks = (s.length + chunk - 1) / chunk;
  ScanResult r;
  r.y.assign(in.x.size(), 0.0f);
  r.h_out.assign(static_cast<size_t>(s.batch * s.channels * s.state), 0.0f);
  // Pass 1, every (batch, channel, chunk) independently: the chunk's local scan from a zero state, giving
  // y_local, the local end state and the decay product over the chunk (per state n).
  const int64_t per_chunk = s.state;
  std::vector<float> end_state(static_cast<size_t>(s.batch * s.channels * chunks * per_chunk));
  std::vector<float> decay(end_state.size());
  pool.parallel_for(s.batch * s.channels * chunks, [&](int64_t task, int) {
    const int64_t k = task % chunks, c = (task / chunks) % s.channels, b = task / (chunks * s.channels);
    const int64_t t0 = k * chunk, t1 = std::min(s.length, t0 + chunk);
    float* h = &end_state[static_cast<size_t>(task * per_chunk)];
    float* p = &decay[static_cast<size_t>(task * per_chunk)];
    for (int64_t n = 0; n < s.state; ++n) {
      h[n] = 0.0f;
      p[n] = 1.0f;
    }
    for (int64_t t = t0; t < t1; ++t) {
      const float dt = in.delta[ix.xt(b, t, c)], x = in.x[ix.xt(b, t, c)];
      float y = in.d_skip[c] * x;
      for (int64_t n = 0; n < s.state; ++n) {
        const float a = std::exp(dt * in.a[ix.an(c, n)]);
        h[n] = a * h[n] + dt * in.b[ix.bt(b, t, n)] * x;
        p[n] *= a;
        y += in.c[ix.bt(b, t, n)] * h[n];
      }
      r.y[ix.xt(b, t, c)] = y;
    }
  });
  // Pass 2, per (batch, channel): carry the entering state along the chunks in order, and add each step's share
  // of it, C_t · (P_t ∘ h_enter), recomputing P_t within the chunk.
  pool.parallel_for(s.batch * s.channels, [&](int64_t task, int) {
    const int64_t b = task / s.channels, c = task % s.channels;
    std::vector<float> enter(static_cast<size_t>(s.state)), pt(static_cast<size_t>(s.state));
    for (int64_t n = 0; n < s.state; ++n) enter[n] = in.h_in.empty() ? 0.0f : in.h_in[ix.hn(b, c, n)];
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t t0 = k * chunk, t1 = std::min(s.length, t0 + chunk);
      const size_t base = static_cast<size_t>((task * chunks + k) * per_chunk);
      bool any = false;
      for (int64_t n = 0; n < s.state; ++n) any = any || enter[n] != 0.0f;
      if (any) {
        for (int64_t n = 0; n < s.state; ++n) pt[n] = 1.0f;
        for (int64_t t = t0; t < t1; ++t) {
          const float dt = in.delta[ix.xt(b, t, c)];
          float add = 0;
          for (int64_t n = 0; n < s.state; ++n) {
            pt[n] *= std::exp(dt * in.a[ix.an(c, n)]);
            add += in.c[ix.bt(b, t, n)] * pt[n] * enter[n];
          }
          r.y[ix.xt(b, t, c)] += add;
        }
      }
      for (int64_t n = 0; n < s.state; ++n) enter[n] = decay[base + n] * enter[n] + end_state[base + n];
    }
    for (int64_t n = 0; n < s.state; ++n) r.h_out[ix.hn(b, c, n)] = enter[n];
  });
  return r;
}

}  // namespace attnscope
