// test_npy.cpp — .npy reading (float32/float16, format versions 1 and 2, C order) and writing, the errors for
// malformed files, and Q/K/V shape checking into AttentionInputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "tests/common/test_util.hpp"

namespace attnscope {
namespace {

// A hand-built file: magic, version, header length, dict, data.
std::string make_npy(int major, const std::string& dict, const std::string& data) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const size_t n = header.size();
  out += static_cast<char>(n & 0xFF);
  out += static_cast<char>((n >> 8) & 0xFF);
  if (major != 1) { out += static_cast<char>((n >> 16) & 0xFF); out += static_cast<char>((n >> 24) & 0xFF); }
  return out + header + data;
}

TEST_CASE("float32 arrays survive write and read, with the shape") {
  Rng rng(99);
  std::vector<float> values(2 * 3 * 5 * 7);
  for (auto& v : values) v = static_cast<float>(rng.normal());
  const auto bytes = npy_bytes({2, 3, 5, 7}, values.data());
  const size_t header_bytes = bytes.size() - values.size() * 4;
  CHECK(header_bytes % 64 == 0);  // header padded to 64 bytes
  auto r = parse_npy(bytes, "x.npy");
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.array.shape == std::vector<int64_t>{2, 3, 5, 7});
  CHECK(r.array.data == values);
  CHECK(r.array.source_dtype == "float32");

  const auto path = (std::filesystem::temp_directory_path() / "attnscope_test_npy.npy").string();
  REQUIRE(write_npy(path, {5}, values.data()).empty());
  auto f = read_npy(path);
  REQUIRE_MESSAGE(f.ok, f.error);
  CHECK(f.array.shape == std::vector<int64_t>{5});
  CHECK(std::equal(f.array.data.begin(), f.array.data.end(), values.begin()));
  std::remove(path.c_str());
}

TEST_CASE("float16 and format 2.0 are read; half values convert exactly") {
  // 1.0, -2.5, 65504 (largest half), 2^-24 (smallest subnormal), -0.0, +inf
  const uint16_t halves[] = {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x8000, 0x7C00};
  std::string data(reinterpret_cast<const char*>(halves), sizeof halves);
  auto r = parse_npy(make_npy(2, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", data), "h.npy");
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.array.source_dtype == "float16");
  CHECK(r.array.shape == std::vector<int64_t>{2, 3});
  CHECK(r.array.data[0] == 1.0f);
  CHECK(r.array.data[1] == -2.5f);
  CHECK(r.array.data[2] == 65504.0f);
  CHECK(r.array.data[3] == std::ldexp(1.0f, -24));
  CHECK(std::signbit(r.array.data[4]));
  CHECK(std::isinf(r.array.data[5]));
}

TEST_CASE("malformed files get errors naming the file and the problem") {
  const std::string four(16, '\1');
  auto err = [](const NpyReadResult& r) { return r.ok ? std::string("(accepted)") : r.error; };
  CHECK(err(parse_npy("hello world", "a.npy")).find("a.npy: not a .npy file") == 0);
  CHECK(err(parse_npy(make_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four), "f.npy"))
            .find("f.npy: Fortran-order") == 0);
  CHECK(err(parse_npy(make_npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", four), "i.npy"))
            .find("dtype '<i4' is not supported") != std::string::npos);
  CHECK(err(parse_npy(make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", four), "d.npy"))
            .find("d.npy: dtype '<f8'") == 0);
  CHECK(err(parse_npy(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", four), "t.npy"))
            .find("t.npy: data truncated") == 0);
  CHECK(err(parse_npy(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", four), "x.npy"))
            .find("bytes after") != std::string::npos);
  CHECK(err(parse_npy(make_npy(1, "{'descr': '<f4', 'shape': (4,), }", four), "m.npy")).find("malformed header") !=
        std::string::npos);
  CHECK(err(parse_npy(make_npy(7, "{}", ""), "v.npy")).find("version 7") != std::string::npos);
  CHECK(err(parse_npy(std::string("\x93NUMPY\x01\x00\xff\x00", 10), "h.npy")).find("truncated header") !=
        std::string::npos);
  CHECK(err(read_npy("/nonexistent/dir/q.npy")).find("/nonexistent/dir/q.npy: cannot open") == 0);
  // A shape whose product overflows int64 (2^40 · 2^40 = 2^80) is truncated data, not an empty array (issue 16).
  CHECK(err(parse_npy(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }",
                               ""), "o.npy"))
            .find("o.npy: data truncated: the header says [1099511627776, 1099511627776] float32 (more bytes") == 0);
}

TEST_CASE("a zero-size array reads as empty (found by fuzz_npy: no memcpy from a null pointer)") {
  NpyReadResult r = parse_npy(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", ""), "z.npy");
  REQUIRE(r.ok);
  CHECK(r.array.elements() == 0);
  CHECK(r.array.data.empty());
}

// Writes `bytes` to a fresh file in `dir`.
std::string put(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  const std::string path = (dir / name).string();
  REQUIRE(write_file_atomically(path, bytes).ok);
  return path;
}

TEST_CASE("files are read within limits from the header: folders, devices, huge or lying headers refused by name") {
  const auto dir = test::fresh_dir("npy_limits");
  auto err = [](const NpyReadResult& r) { return r.ok ? std::string("(accepted)") : r.error; };
  Rng rng(3);
  std::vector<float> values(17 * 5);
  for (auto& v : values) v = static_cast<float>(rng.normal());
  const std::string good = npy_bytes({17, 5}, values.data());

  // A good file reads back exactly.
  const NpyReadResult back = read_npy(put(dir, "good.npy", good));
  REQUIRE_MESSAGE(back.ok, back.error);
  CHECK(back.array.data == values);
  // A folder is named as one, not an uncaught stream exception (issue 16).
  CHECK(err(read_npy(dir.string())) == dir.string() + ": is a folder, not a .npy file");
  // /dev/zero has no end: refused before reading, not read until memory runs out.
  CHECK(err(read_npy("/dev/zero")).find("/dev/zero: is not a regular file") == 0);
  // A header claiming (2^40, 2^40) with no data: truncated, said before any allocation.
  CHECK(err(read_npy(put(dir, "huge.npy", make_npy(1, "{'descr': '<f4', 'fortran_order': False, "
                                                    "'shape': (1099511627776, 1099511627776), }", ""))))
            .find("huge.npy: data truncated") != std::string::npos);
  // One byte missing, one byte extra.
  CHECK(err(read_npy(put(dir, "short.npy", good.substr(0, good.size() - 1)))).find("short.npy: data truncated") !=
        std::string::npos);
  CHECK(err(read_npy(put(dir, "long.npy", good + "x"))).find("1 bytes after the [17, 5] array") != std::string::npos);
  // Format 2.0 announcing a 2 GiB header in a 100-byte file: refused from the length field alone.
  std::string big_header("\x93NUMPY\x02\x00\x00\x00\x00\x80", 12);
  big_header.append(88, ' ');
  CHECK(err(read_npy(put(dir, "bighdr.npy", big_header))).find("bighdr.npy: header of 2147483648 bytes") !=
        std::string::npos);
  // A header that announces more bytes than the file has.
  CHECK(err(read_npy(put(dir, "cut.npy", good.substr(0, 40)))).find("cut.npy: truncated header") != std::string::npos);
  CHECK(err(read_npy(put(dir, "empty.npy", ""))).find("empty.npy: not a .npy file") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("write_npy: the reason for a failed write, and no partial file") {
  const auto dir = test::fresh_dir("npy_write");
  std::vector<float> values(33 * 7, 0.25f);
  const std::string full = write_npy("/dev/full", {33, 7}, values.data());
  CHECK(full.find("cannot write '/dev/full': the disk is full (No space left on device)") == 0);
  const std::string missing = write_npy((dir / "no/such/o.npy").string(), {33, 7}, values.data());
  CHECK(missing.find("does not exist") != std::string::npos);
  CHECK(test::entries(dir) == 0);
  // Replacing a file keeps it whole: the new contents, nothing left beside it.
  const std::string path = (dir / "o.npy").string();
  REQUIRE(write_npy(path, {33, 7}, values.data()).empty());
  values[5] = -3.0f;
  REQUIRE(write_npy(path, {33, 7}, values.data()).empty());
  CHECK(read_npy(path).array.data == values);
  CHECK(test::entries(dir) == 1);
  std::filesystem::remove_all(dir);
}

NpyArray array(std::vector<int64_t> shape) {
  NpyArray a;
  a.shape = std::move(shape);
  a.data.assign(static_cast<size_t>(a.elements()), 0.5f);
  return a;
}

TEST_CASE("Q, K, V shapes become a spec, with GQA; mismatches name the files") {
  auto ok = attention_from_npy(array({2, 8, 100, 64}), array({2, 2, 120, 64}), array({2, 2, 120, 64}), "q", "k", "v");
  REQUIRE_MESSAGE(ok.ok, ok.error);
  CHECK(ok.inputs.spec.batch == 2);
  CHECK(ok.inputs.spec.q_heads == 8);
  CHECK(ok.inputs.spec.kv_heads == 2);
  CHECK(ok.inputs.spec.q_len == 100);
  CHECK(ok.inputs.spec.kv_len == 120);
  CHECK(ok.inputs.spec.head_dim == 64);
  CHECK(ok.rank == 4);
  auto two = attention_from_npy(array({17, 32}), array({17, 32}), array({17, 32}), "q", "k", "v");
  REQUIRE(two.ok);
  CHECK(two.inputs.spec.q_heads == 1);

  auto msg = [](const NpyAttention& r) { return r.ok ? std::string("(accepted)") : r.error; };
  CHECK(msg(attention_from_npy(array({10, 32}), array({10, 16}), array({10, 16}), "Q.npy", "K.npy", "V.npy"))
            .find("K.npy: head dim 16 differs from Q.npy's 32") == 0);
  CHECK(msg(attention_from_npy(array({10, 32}), array({10, 32}), array({11, 32}), "Q.npy", "K.npy", "V.npy"))
            .find("K.npy: shape [10, 32] does not match V.npy's [11, 32]") == 0);
  CHECK(msg(attention_from_npy(array({1, 6, 10, 32}), array({1, 4, 10, 32}), array({1, 4, 10, 32}), "Q", "K", "V"))
            .find("do not divide") != std::string::npos);
  CHECK(msg(attention_from_npy(array({20, 32}), array({10, 32}), array({10, 32}), "Q", "K", "V"))
            .find("Q: 20 queries but K has only 10 keys") == 0);
  CHECK(msg(attention_from_npy(array({32}), array({32}), array({32}), "Q", "K", "V")).find("must be [N, d]") !=
        std::string::npos);
  CHECK(msg(attention_from_npy(array({10, 32}), array({1, 10, 32}), array({1, 10, 32}), "Q", "K", "V"))
            .find("different rank") != std::string::npos);
}

}  // namespace
}  // namespace attnscope
