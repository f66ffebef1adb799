// npy.cpp — see npy.hpp. Format: "\x93NUMPY", major, minor, header length (uint16 LE in 1.0, uint32 LE in 2.0/3.0),
// then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (128, 64), } padded with spaces
// and ending in '\n', then the raw data.
#include "core/npy.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.hpp"

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

namespace {

// What the header says: where the data starts and how many bytes it takes.
struct NpyHeader {
  std::string error;  // "" when the header is good
  std::vector<int64_t> shape;
  std::string source_dtype;
  int item = 0;                 // bytes per element
  uint64_t data_offset = 0;     // magic + version + length + header
  uint64_t elements = 0, data_bytes = 0;
};

// Largest header read from a file: NumPy writes tens of bytes; format 2.0 allows 4 GiB, which would be read
// whole before anything could be checked.
constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 20;

// The preamble (magic, version, header length): the bytes it needs (10 or 12), then the header's size.
// Returns the preamble's length, 0 with `error` set when the bytes are not a .npy preamble.
size_t parse_preamble(std::string_view bytes, uint64_t& header_len, std::string& error) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    error = "not a .npy file (missing the \\x93NUMPY magic)";
    return 0;
  }
  const auto major = static_cast<uint8_t>(bytes[6]);
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (uint64_t{static_cast<uint8_t>(bytes[9])} << 8);
    return 10;
  }
  if (major == 2 || major == 3) {
    if (bytes.size() < 12) { error = "truncated header"; return 0; }
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= uint64_t{static_cast<uint8_t>(bytes[8 + i])} << (8 * i);
    return 12;
  }
  error = "unsupported .npy format version " + std::to_string(major) + " (1, 2 and 3 are read)";
  return 0;
}

// The header dict after the preamble; `available` is the number of data bytes present (file size minus the
// header), so a shape whose data cannot be there is reported before anything is allocated.
NpyHeader parse_header(std::string_view header, uint64_t data_offset, uint64_t available) {
  NpyHeader h;
  h.data_offset = data_offset;
  std::string descr, fortran, shape_text;
  if (!dict_value(header, "descr", descr) || !dict_value(header, "fortran_order", fortran) ||
      !dict_value(header, "shape", shape_text)) {
    h.error = "malformed header (needs descr, fortran_order and shape): " + std::string(header.substr(0, 200));
    return h;
  }
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  if (fortran != "False") { h.error = "Fortran-order arrays are not supported: save with np.ascontiguousarray(a)"; return h; }
  if (descr == "<f4" || descr == "|f4" || descr == "=f4") { h.item = 4; h.source_dtype = "float32"; }
  else if (descr == "<f2" || descr == "|f2" || descr == "=f2") { h.item = 2; h.source_dtype = "float16"; }
  else if (descr == ">f4" || descr == ">f2") { h.error = "big-endian data (" + descr + ") is not supported"; return h; }
  else { h.error = "dtype '" + descr + "' is not supported: use float32 or float16 (a.astype(np.float32))"; return h; }
  if (!parse_shape(shape_text, h.shape)) { h.error = "malformed shape " + shape_text; return h; }
  // The element count is checked against the bytes present before it is multiplied out, so a header claiming
  // (2^40, 2^40) is "truncated", never an overflowed product that happens to match.
  const uint64_t max_elements = available / static_cast<uint64_t>(h.item);
  uint64_t elements = 1;
  if (std::find(h.shape.begin(), h.shape.end(), int64_t{0}) != h.shape.end()) {
    elements = 0;
  } else {
    for (int64_t d : h.shape) {
      if (elements > max_elements / static_cast<uint64_t>(d)) {
        h.error = "data truncated: the header says " + join_shape(h.shape) + " " + h.source_dtype +
                  " (more bytes than the file's " + std::to_string(available) + ")";
        return h;
      }
      elements *= static_cast<uint64_t>(d);
    }
  }
  h.elements = elements;
  h.data_bytes = elements * static_cast<uint64_t>(h.item);
  if (available < h.data_bytes)
    h.error = "data truncated: the header says " + join_shape(h.shape) + " " + h.source_dtype + " (" +
              std::to_string(h.data_bytes) + " bytes) but the file holds " + std::to_string(available);
  else if (available > h.data_bytes)
    h.error = std::to_string(available - h.data_bytes) + " bytes after the " + join_shape(h.shape) +
              " array: the file is not a single .npy array";
  return h;
}

// Converts `data` (h.data_bytes bytes) into the array.
void convert_data(const NpyHeader& h, const char* data, NpyArray& array) {
  array.shape = h.shape;
  array.source_dtype = h.source_dtype;
  array.data.resize(static_cast<size_t>(h.elements));
  if (h.item == 4) {
    if (h.data_bytes > 0) std::memcpy(array.data.data(), data, h.data_bytes);
  } else {
    for (uint64_t i = 0; i < h.elements; ++i) {
      uint16_t half;
      std::memcpy(&half, data + 2 * i, 2);
      array.data[i] = half_to_float(half);
    }
  }
}

// read() until `size` bytes or end of file; returns the bytes read, -1 on an error (errno kept).
int64_t read_fully(int fd, char* out, uint64_t size) {
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, out + done, static_cast<size_t>(std::min<uint64_t>(size - done, 1 << 20)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  return static_cast<int64_t>(done);
}

}  // namespace

NpyReadResult parse_npy(std::string_view bytes, const std::string& name) {
  NpyReadResult r;
  auto fail = [&](const std::string& problem) {
    r.error = name + ": " + problem;
    return r;
  };
  uint64_t header_len = 0;
  std::string error;
  const size_t offset = parse_preamble(bytes, header_len, error);
  if (offset == 0) return fail(error);
  if (bytes.size() < offset + header_len) return fail("truncated header");
  const NpyHeader h = parse_header(bytes.substr(offset, header_len), offset + header_len,
                                   bytes.size() - offset - header_len);
  if (!h.error.empty()) {
    r.array.shape = h.shape;
    return fail(h.error);
  }
  convert_data(h, bytes.data() + h.data_offset, r.array);
  r.ok = true;
  return r;
}

NpyReadResult read_npy(const std::string& path) {
  NpyReadResult r;
  auto fail = [&](const std::string& problem) {
    r.error = path + ": " + problem;
    return r;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open (") + std::strerror(errno) + ")");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(std::string("cannot read (") + std::strerror(errno) + ")");
  if (S_ISDIR(st.st_mode)) return fail("is a folder, not a .npy file");
  if (!S_ISREG(st.st_mode))  // /dev/zero, a FIFO: no size to check the header against, and maybe no end
    return fail("is not a regular file (a device or pipe); save the array to a file first");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  // Preamble, then the header it announces (bounded), then exactly the data the header describes.
  std::string prefix(12, '\0');
  const int64_t got = read_fully(fd, prefix.data(), std::min<uint64_t>(12, file_size));
  if (got < 0) return fail(std::string("cannot read (") + std::strerror(errno) + ")");
  prefix.resize(static_cast<size_t>(got));
  uint64_t header_len = 0;
  std::string error;
  const size_t offset = parse_preamble(prefix, header_len, error);
  if (offset == 0) return fail(error);
  if (header_len > kMaxHeaderBytes)
    return fail("header of " + std::to_string(header_len) + " bytes (at most " + std::to_string(kMaxHeaderBytes) +
                " are read; NumPy writes under a hundred)");
  if (file_size < offset + header_len)
    return fail("truncated header: it announces " + std::to_string(header_len) + " bytes, the file has " +
                std::to_string(file_size - offset));
  std::string header(static_cast<size_t>(header_len), '\0');
  if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0 ||
      read_fully(fd, header.data(), header_len) != static_cast<int64_t>(header_len))
    return fail(std::string("cannot read the header (") + std::strerror(errno) + ")");
  const NpyHeader h = parse_header(header, offset + header_len, file_size - offset - header_len);
  if (!h.error.empty()) return fail(h.error);
  std::string data;
  try {
    data.resize(static_cast<size_t>(h.data_bytes));
  } catch (const std::bad_alloc&) {
    return fail("out of memory reading " + std::to_string(h.data_bytes) + " bytes of " + join_shape(h.shape));
  }
  const int64_t data_read = read_fully(fd, data.data(), h.data_bytes);
  if (data_read < 0) return fail(std::string("cannot read the data (") + std::strerror(errno) + ")");
  if (data_read != static_cast<int64_t>(h.data_bytes)) return fail("the file shrank while it was read");
  try {
    convert_data(h, data.data(), r.array);
  } catch (const std::bad_alloc&) {
    return fail("out of memory converting " + join_shape(h.shape) + " to float32");
  }
  r.ok = true;
  return r;
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
  const FileWriteResult written = write_file_atomically(path, npy_bytes(shape, data));
  return written.ok ? std::string() : written.error;
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
              " (GQA needs the query heads to be a multiple of the KV heads)";
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
