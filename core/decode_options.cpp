// decode_options.cpp — parsing of the decode benchmark's explicit options (decode_options.hpp).
#include "core/decode_options.hpp"

#include <cstdio>
#include <vector>

namespace attnscope {

const char* decode_variant_name(DecodeVariant v) {
  switch (v) {
    case DecodeVariant::Auto: return "auto";
    case DecodeVariant::Balanced: return "balanced";
    case DecodeVariant::BalancedTma: return "balanced-tma";
  }
  return "?";
}

const char* decode_variant_choices() { return "auto, balanced or balanced-tma"; }

std::optional<DecodeVariant> parse_decode_variant(const std::string& text) {
  for (DecodeVariant v : {DecodeVariant::Auto, DecodeVariant::Balanced, DecodeVariant::BalancedTma})
    if (text == decode_variant_name(v)) return v;
  return std::nullopt;
}

namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> words;
  size_t begin = 0;
  for (;;) {
    const size_t comma = text.find(',', begin);
    words.push_back(text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (comma == std::string::npos) return words;
    begin = comma + 1;
  }
}

// A whole decimal number in [lo, hi].
bool parse_int_in(const std::string& word, int lo, int hi, int* out) {
  if (word.empty() || word.size() > 9) return false;
  for (char c : word)
    if (c < '0' || c > '9') return false;
  const int v = std::stoi(word);
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

std::string parse_decode_probe(const std::string& text, int* bits) {
  *bits = 0;
  if (text.empty() || text == "none") return {};
  for (const std::string& word : split_commas(text)) {
    if (word == "rotate") *bits |= kDecodeProbeRotate;
    else if (word == "skip-math") *bits |= kDecodeProbeSkipMath;
    else if (word == "interleave") *bits |= kDecodeProbeInterleave;
    else return "'" + text + "': a comma list of rotate, skip-math, interleave (or none)";
  }
  return {};
}

std::optional<DecodeTiming> parse_decode_timing(const std::string& text) {
  if (text == "device") return DecodeTiming::Device;
  if (text == "launch") return DecodeTiming::Launch;
  return std::nullopt;
}

std::string parse_decode_read(const std::string& text, DecodeReadReference* out) {
  const std::string forms = "stream, chunks,CTAS,THREADS[,rotate][,cg] or ring,CTAS,THREADS,STAGES,TILE_KB";
  const std::vector<std::string> w = split_commas(text);
  DecodeReadReference r;
  if (text.empty() || text == "stream") {
    *out = r;
    return {};
  }
  if (w[0] == "chunks") {
    r.kind = DecodeReadReference::Kind::Chunks;
    if (w.size() < 3 || w.size() > 5 || !parse_int_in(w[1], 1, 1 << 20, &r.ctas) ||
        !parse_int_in(w[2], 32, 1024, &r.threads))
      return "'" + text + "': chunks,CTAS,THREADS[,rotate][,cg] with CTAS >= 1 and THREADS 32..1024";
    for (size_t i = 3; i < w.size(); ++i) {
      if (w[i] == "rotate") r.rotate = true;
      else if (w[i] == "cg") r.cached = true;
      else return "'" + text + "': after chunks,CTAS,THREADS only rotate and cg; the forms are " + forms;
    }
  } else if (w[0] == "ring") {
    r.kind = DecodeReadReference::Kind::Ring;
    if (w.size() != 5 || !parse_int_in(w[1], 1, 1 << 20, &r.ctas) || !parse_int_in(w[2], 32, 1024, &r.threads) ||
        !parse_int_in(w[3], 2, 16, &r.stages) || !parse_int_in(w[4], 1, 1024, &r.tile_kb))
      return "'" + text + "': ring,CTAS,THREADS,STAGES,TILE_KB with CTAS >= 1, THREADS 32..1024, STAGES 2..16 "
             "(STAGES x 2 x TILE_KB must fit a block's shared memory; sm_90 or newer)";
  } else {
    return "'" + text + "': choose " + forms;
  }
  *out = r;
  return {};
}

}  // namespace attnscope
