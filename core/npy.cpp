// npy.cpp — see npy.hpp. Format: "\x93NUMPY", major, minor, header length (uint16 LE in 1.0, uint32 LE in 2.0/3.0),
// then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (128, 64), } padded with spaces
// and ending in '\n', then the raw data.
#include "core/npy.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace attnscope {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

// IEEE binary16 -> binary32, subnormals, infinities and NaN included.
float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  float magnitude;
  if (exponent == 0) magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31) magnitude = mantissa ? NAN : INFINITY;
  else magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  return sign ? -magnitude : magnitude;
}

// The value text of `key` in the header dict, up to the next top-level comma or closing brace.
bool dict_value(std::string_view header, std::string_view key, std::string& out) {
  std::string quoted1(1, '\''), quoted2(1, '"');
  quoted1.append(key).push_back('\'');
  quoted2.append(key).push_back('"');
  size_t pos = header.find(quoted1);
  size_t len = quoted1.size();
  if (pos == std::string_view::npos) { pos = header.find(quoted2); len = quoted2.size(); }
  if (pos == std::string_view::npos) return false;
  pos = header.find(':', pos + len);
  if (pos == std::string_view::npos) return false;
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  size_t end = pos;
  int depth = 0;
  while (end < header.size()) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    ++end;
  }
  out = std::string(header.substr(pos, end - pos));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return true;
}

bool parse_shape(std::string text, std::vector<int64_t>& shape) {
  if (text.size() < 2 || text.front() != '(' ) return false;
  if (text.back() != ')') return false;
  text.pop_back();
  text.erase(0, 1);
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    size_t a = part.find_first_not_of(' '), b = part.find_last_not_of(' ');
    if (a == std::string::npos) continue;  // "(5,)" has an empty last part
    part = part.substr(a, b - a + 1);
    if (!part.empty() && part.back() == 'L') part.pop_back();  // Python 2 longs
    int64_t v = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
      if (v > (int64_t{1} << 40)) return false;
    }
    shape.push_back(v);
  }
  return true;
}

std::string join_shape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace

int64_t NpyArray::elements() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string NpyArray::shape_string() const { return join_shape(shape); }

NpyReadResult parse_npy(std::string_view bytes, const std::string& name) {
  NpyReadResult r;
  auto fail = [&](const std::string& problem) {
    r.error = name + ": " + problem;
    return r;
  };
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    return fail("not a .npy file (missing the \\x93NUMPY magic)");
  const auto major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (size_t{static_cast<uint8_t>(bytes[9])} << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return fail("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= size_t{static_cast<uint8_t>(bytes[8 + i])} << (8 * i);
    offset = 12;
  } else {
    return fail("unsupported .npy format version " + std::to_string(major) + " (1, 2 and 3 are read)");
  }
  if (bytes.size() < offset + header_len) return fail("truncated header");
  const std::string_view header = bytes.substr(offset, header_len);
  std::string descr, fortran, shape_text;
  if (!dict_value(header, "descr", descr) || !dict_value(header, "fortran_order", fortran) ||
      !dict_value(header, "shape", shape_text))
    return fail("malformed header (needs descr, fortran_order and shape): " + std::string(header));
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  if (fortran != "False") return fail("Fortran-order arrays are not supported: save with np.ascontiguousarray(a)");
  int item = 0;
  if (descr == "<f4" || descr == "|f4" || (descr == "=f4")) { item = 4; r.array.source_dtype = "float32"; }
  else if (descr == "<f2" || descr == "|f2" || descr == "=f2") { item = 2; r.array.source_dtype = "float16"; }
  else if (descr == ">f4" || descr == ">f2") return fail("big-endian data (" + descr + ") is not supported");
  else return fail("dtype '" + descr + "' is not supported: use float32 or float16 (a.astype(np.float32))");
  if (!parse_shape(shape_text, r.array.shape)) return fail("malformed shape " + shape_text);
  // The element count is checked against the bytes present before it is multiplied out, so a header claiming
  // (2^40, 2^40) is "truncated", never an overflowed product that happens to match.
  const uint64_t available = bytes.size() - offset - header_len;
  const uint64_t max_elements = available / static_cast<uint64_t>(item);
  uint64_t elements = 1;
  bool fits = true;
  if (std::find(r.array.shape.begin(), r.array.shape.end(), int64_t{0}) != r.array.shape.end()) {
    elements = 0;
  } else {
    for (int64_t d : r.array.shape) {
      if (elements > max_elements / static_cast<uint64_t>(d)) {
        fits = false;
        break;
      }
      elements *= static_cast<uint64_t>(d);
    }
  }
  if (!fits)
    return fail("data truncated: the header says " + r.array.shape_string() + " " + r.array.source_dtype +
                " (more bytes than the file's " + std::to_string(available) + ")");
  const int64_t count = static_cast<int64_t>(elements);
  const uint64_t data_bytes = elements * static_cast<uint64_t>(item);
  if (available < data_bytes)
    return fail("data truncated: the header says " + r.array.shape_string() + " " + r.array.source_dtype + " (" +
                std::to_string(data_bytes) + " bytes) but the file holds " + std::to_string(available));
  if (available > data_bytes)
    return fail(std::to_string(available - data_bytes) + " bytes after the " + r.array.shape_string() +
                " array: the file is not a single .npy array");
  const char* data = bytes.data() + offset + header_len;
  r.array.data.resize(static_cast<size_t>(count));
  if (item == 4) {
    if (data_bytes > 0) std::memcpy(r.array.data.data(), data, data_bytes);
  } else {
    for (int64_t i = 0; i < count; ++i) {
      uint16_t h;
      std::memcpy(&h, data + 2 * i, 2);
      r.array.data[static_cast<size_t>(i)] = half_to_float(h);
    }
  }
  r.ok = true;
  return r;
}

NpyReadResult read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    NpyReadResult r;
    r.error = path + ": cannot open (" + std::strerror(errno) + ")";
    return r;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_npy(bytes, path);
}

std::string npy_bytes(const std::vector<int64_t>& shape, const float* data) {
  // "(3, 4)" style, "(5,)" for one dimension.
  std::string shape_text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) shape_text += ", ";
    shape_text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) shape_text += ",";
  shape_text += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
  // Pad so magic + version + length + header is a multiple of 64, ending in '\n' (as NumPy writes it).
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>((header.size() >> 8) & 0xFF);
  out += header;
  int64_t count = 1;
  for (auto d : shape) count *= d;
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(count) * 4);
  return out;
}

std::string write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return path + ": cannot write (" + std::strerror(errno) + ")";
  const std::string bytes = npy_bytes(shape, data);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return path + ": write failed";
  return {};
}

NpyAttention attention_from_npy(const NpyArray& q, const NpyArray& k, const NpyArray& v, const std::string& qn,
                                const std::string& kn, const std::string& vn) {
  NpyAttention r;
  const size_t rank = q.shape.size();
  if (rank < 2 || rank > 4) {
    r.error = qn + ": shape " + q.shape_string() + " must be [N, d], [H, N, d] or [B, H, N, d]";
    return r;
  }
  if (k.shape.size() != rank || v.shape.size() != rank) {
    r.error = (k.shape.size() != rank ? kn + ": shape " + k.shape_string() : vn + ": shape " + v.shape_string()) +
              " has a different rank from " + qn + "'s " + q.shape_string();
    return r;
  }
  if (k.shape != v.shape) {
    r.error = kn + ": shape " + k.shape_string() + " does not match " + vn + "'s " + v.shape_string();
    return r;
  }
  auto dim = [&](const NpyArray& a, int from_end) { return a.shape[a.shape.size() - from_end]; };
  const int64_t d = dim(q, 1), nq = dim(q, 2), nk = dim(k, 2);
  const int64_t hq = rank >= 3 ? dim(q, 3) : 1, hk = rank >= 3 ? dim(k, 3) : 1;
  const int64_t bq = rank == 4 ? q.shape[0] : 1, bk = rank == 4 ? k.shape[0] : 1;
  if (dim(k, 1) != d) {
    r.error = kn + ": head dim " + std::to_string(dim(k, 1)) + " differs from " + qn + "'s " + std::to_string(d);
    return r;
  }
  if (bk != bq) {
    r.error = kn + ": batch " + std::to_string(bk) + " differs from " + qn + "'s " + std::to_string(bq);
    return r;
  }
  if (hk < 1 || hq % hk != 0) {
    r.error = kn + ": " + std::to_string(hk) + " heads do not divide " + qn + "'s " + std::to_string(hq) +
              " (GQA needs q_heads to be a multiple of kv_heads)";
    return r;
  }
  if (nq > nk) {
    r.error = qn + ": " + std::to_string(nq) + " queries but " + kn + " has only " + std::to_string(nk) +
              " keys (queries are the last tokens of the sequence)";
    return r;
  }
  for (const auto* a : {&q, &k, &v})
    for (auto s : a->shape)
      if (s < 1) {
        r.error = (a == &q ? qn : a == &k ? kn : vn) + ": shape " + a->shape_string() + " has an empty dimension";
        return r;
      }
  AttentionSpec& s = r.inputs.spec;
  s.batch = bq;
  s.q_heads = hq;
  s.kv_heads = hk;
  s.q_len = nq;
  s.kv_len = nk;
  s.head_dim = d;
  r.inputs.q = q.data;
  r.inputs.k = k.data;
  r.inputs.v = v.data;
  r.rank = rank;
  r.ok = true;
  return r;
}

}  // namespace attnscope
