// mask_spec.hpp — a spec of nq queries against nk keys under a mask given as text, for the mask and schedule tests
// (one head, the default head dim; the mask must parse).
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/mask.hpp"
#include "core/spec.hpp"

namespace attnscope::test {

inline AttentionSpec spec_for(const std::string& mask, int64_t nq, int64_t nk) {
  AttentionSpec s;
  s.q_len = nq;
  s.kv_len = nk;
  auto parsed = parse_mask(mask);
  REQUIRE_MESSAGE(parsed.ok, parsed.error);
  s.mask = parsed.mask;
  return s;
}

}  // namespace attnscope::test
