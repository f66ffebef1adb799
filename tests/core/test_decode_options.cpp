// test_decode_options.cpp — the decode benchmark's explicit options (core/decode_options.hpp) and the flash-tc path
// choice (core/backend.hpp): every accepted form parses, every other is refused with the accepted forms in words.
#include <doctest/doctest.h>

#include "core/backend.hpp"
#include "core/decode_options.hpp"

using namespace attnscope;

TEST_CASE("decode options: variants, probes, timing") {
  CHECK(parse_decode_variant("auto") == DecodeVariant::Auto);
  CHECK(parse_decode_variant("balanced") == DecodeVariant::Balanced);
  CHECK(parse_decode_variant("balanced-tma") == DecodeVariant::BalancedTma);
  CHECK_FALSE(parse_decode_variant("deep-pipeline"));  // retired (git tag decode-variant-lab)
  for (DecodeVariant v : {DecodeVariant::Auto, DecodeVariant::Balanced, DecodeVariant::BalancedTma})
    CHECK(parse_decode_variant(decode_variant_name(v)) == v);

  int bits = -1;
  CHECK(parse_decode_probe("", &bits).empty());
  CHECK(bits == 0);
  CHECK(parse_decode_probe("none", &bits).empty());
  CHECK(bits == 0);
  CHECK(parse_decode_probe("rotate,interleave", &bits).empty());
  CHECK(bits == (kDecodeProbeRotate | kDecodeProbeInterleave));
  CHECK(parse_decode_probe("skip-math", &bits).empty());
  CHECK(bits == kDecodeProbeSkipMath);
  const std::string why = parse_decode_probe("rotate,spin", &bits);
  CHECK(why.find("rotate, skip-math, interleave") != std::string::npos);

  CHECK(parse_decode_timing("device") == DecodeTiming::Device);
  CHECK(parse_decode_timing("launch") == DecodeTiming::Launch);
  CHECK_FALSE(parse_decode_timing("events"));
}

TEST_CASE("decode options: the read-only reference's forms") {
  DecodeReadReference r;
  CHECK(parse_decode_read("stream", &r).empty());
  CHECK(r.kind == DecodeReadReference::Kind::Stream);
  CHECK(parse_decode_read("chunks,128,256,rotate,cg", &r).empty());
  CHECK(r.kind == DecodeReadReference::Kind::Chunks);
  CHECK(r.ctas == 128);
  CHECK(r.threads == 256);
  CHECK(r.rotate);
  CHECK(r.cached);
  CHECK(parse_decode_read("ring,132,128,6,16", &r).empty());
  CHECK(r.kind == DecodeReadReference::Kind::Ring);
  CHECK(r.stages == 6);
  CHECK(r.tile_kb == 16);
  for (const char* bad : {"chunks,128", "chunks,0,256", "chunks,128,16", "chunks,128,256,spin", "ring,1,128,1,16",
                          "ring,1,128,6", "ring,x,128,6,16", "linear"}) {
    CAPTURE(bad);
    const std::string why = parse_decode_read(bad, &r);
    CHECK_FALSE(why.empty());
    CHECK(why.find(bad) != std::string::npos);  // the error quotes what was given
  }
}

TEST_CASE("flash-tc path: auto, mma, wgmma, ws, ws-no-pingpong") {
  CHECK(parse_tensor_core_path("auto") == TensorCorePath::Auto);
  CHECK(parse_tensor_core_path("mma") == TensorCorePath::Mma);
  CHECK(parse_tensor_core_path("wgmma") == TensorCorePath::Wgmma);
  CHECK_FALSE(parse_tensor_core_path("tma"));
  CHECK(std::string(tensor_core_path_name(TensorCorePath::Wgmma)) == "wgmma");
  CHECK(parse_tensor_core_path("ws") == TensorCorePath::WarpSpecialized);
  CHECK(parse_tensor_core_path("ws-no-pingpong") == TensorCorePath::WarpSpecializedNoPingPong);
  for (TensorCorePath p : {TensorCorePath::Auto, TensorCorePath::Mma, TensorCorePath::Wgmma,
                           TensorCorePath::WarpSpecialized, TensorCorePath::WarpSpecializedNoPingPong})
    CHECK(parse_tensor_core_path(tensor_core_path_name(p)) == p);
}
