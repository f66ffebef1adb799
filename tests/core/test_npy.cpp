// test_npy.cpp — .npy reading (float32/float16, format versions 1 and 2, C order) and writing, the errors for
// malformed files, and Q/K/V shape checking into AttentionInputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/npy.hpp"
#include "core/rng.hpp"

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
