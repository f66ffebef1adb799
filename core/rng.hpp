// rng.hpp — the project's own pseudo-random numbers, identical on every platform and on the GPU.
// std::rand and std::normal_distribution differ between standard libraries; these do not.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.hpp"

namespace attnscope {

// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix with good avalanche.
ATTN_HD uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A stateless hash of (seed, a, b): the random mask asks "is (q block, k block) kept?" with it,
// so any backend can answer for any cell without storing the mask.
ATTN_HD uint64_t hash3(uint64_t seed, uint64_t a, uint64_t b) {
  return splitmix64(splitmix64(splitmix64(seed) ^ a) ^ (b * 0xD6E8FEB86659FD93ull));
}

// Uniform in [0, 1) from the top 53 bits.
ATTN_HD double unit_interval(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

// xoshiro256** (Blackman, Vigna 2018), seeded through SplitMix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& word : s_) { x += 0x9E3779B97F4A7C15ull; word = splitmix64(x); }
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3];
    s_[2] ^= t; s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return unit_interval(next()); }
  // Standard normal by Box–Muller; u1 is kept away from 0 so log() stays finite.
  double normal() {
    if (has_spare_) { has_spare_ = false; return spare_; }
    const double u1 = (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double phase = 6.283185307179586 * u2;
    spare_ = r * std::sin(phase);
    has_spare_ = true;
    return r * std::cos(phase);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace attnscope
