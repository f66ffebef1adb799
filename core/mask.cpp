// mask.cpp — validation, text form and parsing of MaskSpec.
#include "core/mask.hpp"
#include "core/spec.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace attnscope {
namespace {

std::string term_name(MaskTermKind kind) {
  switch (kind) {
    case MaskTermKind::Dense: return "dense";
    case MaskTermKind::Window: return "window";
    case MaskTermKind::Strided: return "strided";
    case MaskTermKind::Dilated: return "dilated";
    case MaskTermKind::Random: return "random";
    case MaskTermKind::Global: return "global";
    case MaskTermKind::BlockGrid: return "grid";
  }
  return "?";
}

// Shortest text that reads back as the same double ("0.05", not "0.050000000000000003").
std::string format_double(double x) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(x);
}

bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_uint(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_real(std::string_view s, double& out) {
  if (s.empty()) return false;
  // from_chars for double is in libstdc++ 11+; strtod would accept trailing garbage silently.
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Arguments of one term: positional values and key=value pairs, matched against a parameter list.
struct TermArgs {
  std::vector<std::pair<std::string, std::string>> named;  // resolved name -> text
};

// Resolves args into `names` order; returns an error text or "".
std::string bind_args(std::string_view args_text, const std::vector<std::string>& names, size_t required,
                      TermArgs& out) {
  std::vector<std::string_view> args;
  if (!args_text.empty()) args = split(args_text, ',');
  size_t positional = 0;
  bool seen_named = false;
  for (auto raw : args) {
    auto arg = trim(raw);
    if (arg.empty()) return "empty argument";
    auto eq = arg.find('=');
    if (eq == std::string_view::npos) {
      if (seen_named) return "positional argument " + quote_input(arg) + " after a named one";
      if (positional >= names.size())
        return "too many arguments (takes at most " + std::to_string(names.size()) + ")";
      out.named.emplace_back(names[positional++], std::string(arg));
    } else {
      seen_named = true;
      std::string key(trim(arg.substr(0, eq)));
      bool known = false;
      for (auto& n : names) known |= (n == key);
      if (!known) {
        std::string list;
        for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
        return "unknown parameter " + quote_input(key) + " (parameters: " + list + ")";
      }
      for (auto& [k, v] : out.named)
        if (k == key) return "parameter '" + key + "' given twice";
      out.named.emplace_back(key, std::string(trim(arg.substr(eq + 1))));
    }
  }
  for (size_t i = 0; i < required; ++i) {
    bool found = false;
    for (auto& [k, v] : out.named) found |= (k == names[i]);
    if (!found) return "missing parameter '" + names[i] + "'";
  }
  return "";
}

const std::string* find_arg(const TermArgs& args, const std::string& name) {
  for (auto& [k, v] : args.named)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace

bool MaskSpec::is_dense() const {
  if (causal) return false;
  if (terms.empty()) return true;
  for (auto& t : terms)
    if (t.kind == MaskTermKind::Dense) return true;
  return false;
}

std::vector<std::string> MaskSpec::validate() const {
  std::vector<std::string> problems;
  if (terms.size() > static_cast<size_t>(kMaxMaskTerms))
    problems.push_back("mask has " + std::to_string(terms.size()) + " terms: at most " +
                       std::to_string(kMaxMaskTerms) + " are supported");
  for (size_t i = 0; i < terms.size(); ++i) {
    const auto& t = terms[i];
    const std::string where = term_name(t.kind) + " (term " + std::to_string(i + 1) + ")";
    switch (t.kind) {
      case MaskTermKind::Dense: break;
      case MaskTermKind::Window:
        if (t.a < 0) problems.push_back(where + ": left extent " + std::to_string(t.a) + " must be >= 0");
        if (t.b < 0) problems.push_back(where + ": right extent " + std::to_string(t.b) + " must be >= 0");
        break;
      case MaskTermKind::Strided:
        if (t.a < 1) problems.push_back(where + ": stride " + std::to_string(t.a) + " must be >= 1");
        if (t.b < 0) problems.push_back(where + ": band " + std::to_string(t.b) + " must be >= 0");
        break;
      case MaskTermKind::Dilated:
        if (t.a < 0) problems.push_back(where + ": width " + std::to_string(t.a) + " must be >= 0");
        if (t.b < 1) problems.push_back(where + ": dilation " + std::to_string(t.b) + " must be >= 1");
        break;
      case MaskTermKind::Random:
        if (!(t.density >= 0.0 && t.density <= 1.0))
          problems.push_back(where + ": density " + format_double(t.density) + " must be in [0, 1]");
        if (t.b < 1) problems.push_back(where + ": block " + std::to_string(t.b) + " must be >= 1");
        break;
      case MaskTermKind::Global:
        if (t.a < 0) problems.push_back(where + ": count " + std::to_string(t.a) + " must be >= 0");
        break;
      case MaskTermKind::BlockGrid:
        if (grid.block < 1) problems.push_back(where + ": block " + std::to_string(grid.block) + " must be >= 1");
        if (grid.empty()) problems.push_back(where + ": the painted grid is empty");
        if (static_cast<int64_t>(grid.cells.size()) != grid.rows * grid.cols)
          problems.push_back(where + ": grid has " + std::to_string(grid.cells.size()) + " cells, expected " +
                             std::to_string(grid.rows * grid.cols));
        break;
    }
  }
  return problems;
}

std::string MaskSpec::to_string() const { return text_form(false); }
std::string MaskSpec::short_name() const { return text_form(true); }

std::string MaskSpec::text_form(bool name_the_grid) const {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "+") + s; };
  for (auto& t : terms) {
    switch (t.kind) {
      case MaskTermKind::Dense: add("dense"); break;
      case MaskTermKind::Window:
        add(t.a == t.b ? "window:" + std::to_string(t.a)
                       : "window:" + std::to_string(t.a) + "," + std::to_string(t.b));
        break;
      case MaskTermKind::Strided:
        add("strided:" + std::to_string(t.a) + (t.b ? "," + std::to_string(t.b) : ""));
        break;
      case MaskTermKind::Dilated: add("dilated:" + std::to_string(t.a) + "," + std::to_string(t.b)); break;
      case MaskTermKind::Random:
        add("random:" + format_double(t.density) + "," + std::to_string(t.seed) + "," + std::to_string(t.b));
        break;
      case MaskTermKind::Global: add("global:" + std::to_string(t.a)); break;
      case MaskTermKind::BlockGrid: {
        if (name_the_grid) {
          int64_t on = 0;
          for (uint8_t cell : grid.cells) on += cell != 0;
          const double percent = grid.cells.empty() ? 0.0 : 100.0 * static_cast<double>(on) / static_cast<double>(grid.cells.size());
          char name[96];
          // Whole percent, except that a few painted blocks never read as 0 % (nor nearly all as 100 %).
          std::snprintf(name, sizeof name, percent > 0 && percent < 1 ? "painted %lld × %lld grid, %.1g%% of blocks"
                                           : percent > 99 && percent < 100 ? "painted %lld × %lld grid, %.3g%% of blocks"
                                                                           : "painted %lld × %lld grid, %.0f%% of blocks",
                        static_cast<long long>(grid.rows), static_cast<long long>(grid.cols), percent);
          add(name);
          break;
        }
        std::string rows;
        for (int64_t r = 0; r < grid.rows; ++r) {
          if (r) rows += '/';
          for (int64_t c = 0; c < grid.cols; ++c) rows += grid.cells[r * grid.cols + c] ? '1' : '0';
        }
        add("grid:" + std::to_string(grid.block) + ":" + rows);
        break;
      }
    }
  }
  if (causal) add("causal");
  if (out.empty()) out = "dense";
  return out;
}

MaskView MaskSpec::view() const {
  MaskView v;
  v.causal = causal;
  // A union that contains "dense" allows every pair: evaluate it as no terms at all, so that kernels and twins
  // take their unmasked (or causal-only) paths instead of testing every element against the terms.
  bool any_dense = false;
  for (auto& t : terms) any_dense |= t.kind == MaskTermKind::Dense;
  v.term_count = any_dense ? 0 : static_cast<int32_t>(std::min<size_t>(terms.size(), kMaxMaskTerms));
  // Parameters are clamped to kMaxMaskExtent, far beyond any sequence length, so that every expression on
  // positions (q - left, q + right, k0 + stride - 1, ...) in allowed(), the block classifier and the kernels stays
  // inside int64 — window:9223372036854775807 means "every key", never a wrapped-around bound.
  auto clamp = [](int64_t x) { return std::clamp<int64_t>(x, -kMaxMaskExtent, kMaxMaskExtent); };
  for (int32_t i = 0; i < v.term_count; ++i) {
    v.terms[i] = terms[i];
    v.terms[i].a = clamp(terms[i].a);
    v.terms[i].b = clamp(terms[i].b);
  }
  v.grid_block = grid.block > 0 ? grid.block : 1;
  v.grid_rows = grid.rows;
  v.grid_cols = grid.cols;
  v.grid_cells = grid.cells.empty() ? nullptr : grid.cells.data();
  return v;
}

const char* mask_syntax_help() {
  return "  dense                   every pair (the default)\n"
         "  causal                  k <= q, applied on top of the other terms\n"
         "  window:W | window:L,R   q-L <= k <= q+R (W: both sides)\n"
         "  strided:S[,B]           every S-th key (k mod S = 0), plus a local band |q-k| <= B\n"
         "  dilated:W,S             |q-k| <= W and (q-k) mod S = 0\n"
         "  random:D[,SEED[,BLOCK]] each BLOCK x BLOCK cell kept with probability D (default seed 0, block 1)\n"
         "  global:G                the first G tokens attend to and are attended by all\n"
         "  grid:B:ROWS             painted B x B blocks, ROWS like 110/011/001 (cells beyond are masked)\n"
         "  Terms joined by '+' form a union, e.g. window:256+global:16+causal (Longformer),\n"
         "  window:64+global:8+random:0.05,1,64 (BigBird).";
}

MaskParseResult parse_mask(std::string_view text) {
  MaskParseResult result;
  // Every bad term is reported (joined with "; "), not only the first; error_offset is the first one's.
  std::vector<std::string> errors;
  auto fail = [&](size_t offset, std::string_view term, const std::string& why) {
    if (errors.empty()) result.error_offset = offset;
    errors.push_back("mask term " + quote_input(term) + " at character " + std::to_string(offset + 1) + ": " + why);
    return false;
  };
  if (trim(text).empty()) {
    fail(0, text, "empty mask; use 'dense' for no mask");
    result.error = errors.front();
    return result;
  }

  size_t offset = 0;
  for (auto raw : split(text, '+')) {
    const size_t term_offset = offset;
    offset += raw.size() + 1;
    // One term: false when it is bad (its error recorded); the loop goes on to report the others too.
    auto parse_term = [&]() -> bool {
      auto term = trim(raw);
      if (term.empty()) return fail(term_offset, raw, "empty term (two '+' in a row, or a '+' at an end)");
      auto colon = term.find(':');
      std::string name(term.substr(0, colon));
      std::string_view args_text = colon == std::string_view::npos ? std::string_view{} : term.substr(colon + 1);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));

      MaskTerm t;
      TermArgs args;
      std::string err;
      auto need_int = [&](const std::string& key, int64_t& dst, int64_t fallback) -> bool {
        const std::string* s = find_arg(args, key);
        if (!s) { dst = fallback; return true; }
        if (!parse_int(*s, dst)) { err = key + " " + quote_input(*s) + " is not an integer"; return false; }
        return true;
      };

      if (name == "dense") {
        if (!args_text.empty()) return fail(term_offset, term, "dense takes no arguments");
        t.kind = MaskTermKind::Dense;
      } else if (name == "causal") {
        if (!args_text.empty()) return fail(term_offset, term, "causal takes no arguments");
        result.mask.causal = true;
        return true;
      } else if (name == "window") {
        t.kind = MaskTermKind::Window;
        if (!(err = bind_args(args_text, {"left", "right"}, 1, args)).empty()) return fail(term_offset, term, err);
        if (!need_int("left", t.a, 0)) return fail(term_offset, term, err);
        if (!need_int("right", t.b, t.a)) return fail(term_offset, term, err);
      } else if (name == "strided") {
        t.kind = MaskTermKind::Strided;
        if (!(err = bind_args(args_text, {"stride", "band"}, 1, args)).empty()) return fail(term_offset, term, err);
        if (!need_int("stride", t.a, 1) || !need_int("band", t.b, 0)) return fail(term_offset, term, err);
      } else if (name == "dilated") {
        t.kind = MaskTermKind::Dilated;
        if (!(err = bind_args(args_text, {"width", "dilation"}, 2, args)).empty()) return fail(term_offset, term, err);
        if (!need_int("width", t.a, 0) || !need_int("dilation", t.b, 1)) return fail(term_offset, term, err);
      } else if (name == "random") {
        t.kind = MaskTermKind::Random;
        if (!(err = bind_args(args_text, {"density", "seed", "block"}, 1, args)).empty())
          return fail(term_offset, term, err);
        const std::string* d = find_arg(args, "density");
        if (!parse_real(*d, t.density)) return fail(term_offset, term, "density " + quote_input(*d) + " is not a number");
        if (const std::string* s = find_arg(args, "seed"); s && !parse_uint(*s, t.seed))
          return fail(term_offset, term, "seed " + quote_input(*s) + " is not a non-negative integer");
        if (!need_int("block", t.b, 1)) return fail(term_offset, term, err);
      } else if (name == "global") {
        t.kind = MaskTermKind::Global;
        if (!(err = bind_args(args_text, {"count"}, 1, args)).empty()) return fail(term_offset, term, err);
        if (!need_int("count", t.a, 0)) return fail(term_offset, term, err);
      } else if (name == "grid") {
        t.kind = MaskTermKind::BlockGrid;
        auto sep = args_text.find(':');
        if (sep == std::string_view::npos) return fail(term_offset, term, "expected grid:BLOCK:ROWS, e.g. grid:64:10/11");
        int64_t block = 0;
        if (!parse_int(args_text.substr(0, sep), block))
          return fail(term_offset, term, "block " + quote_input(args_text.substr(0, sep)) + " is not an integer");
        BlockGrid grid;
        grid.block = block;
        auto rows = split(args_text.substr(sep + 1), '/');
        grid.rows = static_cast<int64_t>(rows.size());
        grid.cols = static_cast<int64_t>(rows[0].size());
        for (auto row : rows) {
          if (static_cast<int64_t>(row.size()) != grid.cols)
            return fail(term_offset, term, "grid rows have different lengths (" + std::to_string(grid.cols) +
                                               " and " + std::to_string(row.size()) + ")");
          for (char c : row) {
            if (c != '0' && c != '1') return fail(term_offset, term, std::string("grid cell '") + c + "' must be 0 or 1");
            grid.cells.push_back(c == '1');
          }
        }
        if (!result.mask.grid.empty()) return fail(term_offset, term, "only one grid term is allowed");
        result.mask.grid = std::move(grid);
        t.a = block;
      } else {
        return fail(term_offset, term,
                    "unknown pattern " + quote_input(name) + "; known: dense, causal, window, strided, dilated, random, global, grid");
      }
      result.mask.terms.push_back(t);
      return true;
    };
    parse_term();
  }
  // The terms that parsed are checked too (a negative window beside an unknown name: both are reported).
  for (const std::string& problem : result.mask.validate()) {
    if (errors.empty()) result.error_offset = 0;
    errors.push_back(problem);
  }
  result.ok = errors.empty();
  for (const std::string& e : errors) result.error += (result.error.empty() ? "" : "; ") + e;
  return result;
}

}  // namespace attnscope
