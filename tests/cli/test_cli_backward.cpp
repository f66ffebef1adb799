// test_cli_backward.cpp — `attnscope backward` run as a binary on the CPU backend: a small causal GQA training step
// prints both algorithms' times, the memory table and gradients within tolerance of the float64 reference (exit 0);
// a budget below naive's peak fails naive with the bytes it needs (exit 1); bad flags are usage errors (exit 2).
// Q, K, V and dO from .npy and dQ, dK, dV written to .npy (round trip against the float64 reference; bad shapes,
// paths and failed runs leave nothing); bench --backward --json refused without CUDA (rows checked on a GPU).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/backward.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "tests/common/test_util.hpp"

namespace {

attnscope::test::CommandResult backward(const std::string& args) {
  const auto r = attnscope::test::run_command("timeout 120 '" + std::string(ATTNSCOPE_BINARY) + "' backward " + args);
  REQUIRE(r.started);
  return r;
}

}  // namespace

TEST_CASE("cli backward: naive and flash on a causal GQA experiment, memory by category, error against float64") {
  const auto r = backward("--n 97 --heads 4 --kv-heads 2 --d 16 --causal --reps 1");
  INFO(r.output);
  CHECK(r.status == 0);
  for (const char* line : {"\nnaive\n", "\nflash\n", "saved P", "saved lse", "dO, dQ, dK, dV", "workspace",
                           "backward / forward", "training peak / inference peak", "max |error| against the float64"})
    CHECK(r.output.find(line) != std::string::npos);
  CHECK(r.output.find("OUT OF TOLERANCE") == std::string::npos);
}

TEST_CASE("cli backward: a budget below naive's peak refuses naive with what it needs; flash still runs") {
  const auto r = backward("--n 512 --heads 2 --d 16 --reps 1 --budget-mib 2 --no-check");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("would need") != std::string::npos);
  CHECK(r.output.find("use flash") != std::string::npos);
  CHECK(r.output.find("flash-2 CPU twin") != std::string::npos);
}

TEST_CASE("cli backward: bad flags are usage errors, nothing run") {
  for (const char* args : {"--algo flash1", "--reps 0", "--check --no-check", "--n 0", "--bogus 1"}) {
    const auto r = backward(args);
    INFO(args << "\n" << r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("backward on") == std::string::npos);
  }
}

// ---- .npy in and out (--q --k --v --d-out, --out-dq --out-dk --out-dv): what scripts/bench_sdpa.py uses to check
// the gradients against PyTorch autograd on the same numbers.

namespace {

namespace fs = std::filesystem;
using attnscope::AttentionInputs;
using attnscope::read_npy;
using attnscope::write_npy;

// Q [2, 29, 8], K and V [1, 29, 8] (GQA: both query heads share the one KV head), dO [2, 29, 8]: odd N, Gaussian.
struct GradientFiles {
  fs::path dir;
  std::string q, k, v, d_out;
  std::vector<float> qv, kv, vv, dov;
};

GradientFiles make_gradient_files(const std::string& name) {
  GradientFiles f;
  f.dir = attnscope::test::fresh_dir("cli_backward_" + name);
  attnscope::Rng rng(2024);
  for (auto [values, count] : {std::pair{&f.qv, 2 * 29 * 8}, {&f.kv, 29 * 8}, {&f.vv, 29 * 8}, {&f.dov, 2 * 29 * 8}}) {
    values->resize(static_cast<size_t>(count));
    for (float& x : *values) x = static_cast<float>(rng.normal());
  }
  f.q = (f.dir / "q.npy").string();
  f.k = (f.dir / "k.npy").string();
  f.v = (f.dir / "v.npy").string();
  f.d_out = (f.dir / "do.npy").string();
  REQUIRE(write_npy(f.q, {2, 29, 8}, f.qv.data()).empty());
  REQUIRE(write_npy(f.k, {1, 29, 8}, f.kv.data()).empty());
  REQUIRE(write_npy(f.v, {1, 29, 8}, f.vv.data()).empty());
  REQUIRE(write_npy(f.d_out, {2, 29, 8}, f.dov.data()).empty());
  return f;
}

std::string inputs_args(const GradientFiles& f) {
  return "--q '" + f.q + "' --k '" + f.k + "' --v '" + f.v + "' ";
}

// Files in the folder other than the four inputs (an output or a temporary file left behind).
std::vector<std::string> gradient_leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name != "q.npy" && name != "k.npy" && name != "v.npy" && name != "do.npy") names.push_back(name);
  }
  return names;
}

// Largest |got − want| against 2e-4 × largest |want| + 2e-5 (the command's own tolerance).
void check_close(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  REQUIRE(got.size() == want.size());
  double worst = 0, largest = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
    largest = std::max(largest, std::abs(want[i]));
  }
  INFO(what << ": max |error| " << worst << " of " << largest);
  CHECK(largest > 0.1);  // a gradient of zeros would pass a loose bound
  CHECK(worst <= 2e-4 * largest + 2e-5);
}

}  // namespace

TEST_CASE("cli backward: Q, K, V and dO from .npy, dQ, dK, dV written as .npy equal the float64 reference") {
  const GradientFiles f = make_gradient_files("round_trip");
  // The reference on the very arrays the files hold (read back, so the test goes through the .npy reader too).
  const auto q = read_npy(f.q), k = read_npy(f.k), v = read_npy(f.v), d_out = read_npy(f.d_out);
  REQUIRE((q.ok && k.ok && v.ok && d_out.ok));
  auto loaded = attnscope::attention_from_npy(q.array, k.array, v.array, f.q, f.k, f.v);
  REQUIRE(loaded.ok);
  AttentionInputs inputs = loaded.inputs;
  inputs.spec.mask.causal = true;
  const attnscope::BackwardReference want = attnscope::reference_backward(inputs, d_out.array.data);

  for (const char* algo : {"flash", "naive"}) {
    for (const char* name : {"dq.npy", "dk.npy", "dv.npy"}) fs::remove(f.dir / name);
    const auto r = backward(inputs_args(f) + "--d-out '" + f.d_out + "' --algo " + algo + " --causal --reps 1 --br 8 --bc 16" +
                            " --out-dq '" + (f.dir / "dq.npy").string() + "' --out-dk '" + (f.dir / "dk.npy").string() +
                            "' --out-dv '" + (f.dir / "dv.npy").string() + "'");
    INFO(algo << "\n" << r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("dO from " + f.d_out) != std::string::npos);
    CHECK(r.output.find("B=1 H=2/1 N=29 d=8") != std::string::npos);
    const auto dq = read_npy((f.dir / "dq.npy").string()), dk = read_npy((f.dir / "dk.npy").string()),
               dv = read_npy((f.dir / "dv.npy").string());
    REQUIRE((dq.ok && dk.ok && dv.ok));
    CHECK(dq.array.shape == std::vector<int64_t>{2, 29, 8});  // Q's shape as the file had it
    CHECK(dk.array.shape == std::vector<int64_t>{1, 29, 8});  // K's: summed over the group's query heads
    CHECK(dv.array.shape == std::vector<int64_t>{1, 29, 8});
    CHECK(dq.array.source_dtype == "float32");
    check_close(dq.array.data, want.dq, "dQ");
    check_close(dk.array.data, want.dk, "dK");
    check_close(dv.array.data, want.dv, "dV");
  }
}

TEST_CASE("cli backward: --d-out is the dO used: a negated dO gives exactly negated gradients") {
  const GradientFiles f = make_gradient_files("negated");
  std::vector<float> negated = f.dov;
  for (float& x : negated) x = -x;
  const std::string neg = (f.dir / "neg.npy").string();
  REQUIRE(write_npy(neg, {2, 29, 8}, negated.data()).empty());
  const std::string plus = (f.dir / "plus.npy").string(), minus = (f.dir / "minus.npy").string();
  const std::string common = inputs_args(f) + "--algo flash --reps 1 --no-check --out-dq ";
  REQUIRE(backward(common + "'" + plus + "' --d-out '" + f.d_out + "'").status == 0);
  REQUIRE(backward(common + "'" + minus + "' --d-out '" + neg + "'").status == 0);
  const auto a = read_npy(plus), b = read_npy(minus);
  REQUIRE((a.ok && b.ok));
  REQUIRE(a.array.data.size() == b.array.data.size());
  size_t differing = 0;
  for (size_t i = 0; i < a.array.data.size(); ++i) differing += a.array.data[i] != -b.array.data[i];
  CHECK(differing == 0);  // dQ is linear in dO and every step of the flash twin is sign-symmetric
}

TEST_CASE("cli backward: bad --d-out and --out-d* are refused with exit code and message, nothing left") {
  const GradientFiles f = make_gradient_files("bad");
  const std::string dq = (f.dir / "dq.npy").string();
  std::vector<float> wrong(2 * 28 * 8, 0.5f), with_nan = f.dov;
  with_nan[77] = std::numeric_limits<float>::quiet_NaN();
  const std::string wrong_path = (f.dir / "do_wrong.npy").string(), nan_path = (f.dir / "do_nan.npy").string();
  REQUIRE(write_npy(wrong_path, {2, 28, 8}, wrong.data()).empty());
  REQUIRE(write_npy(nan_path, {2, 29, 8}, with_nan.data()).empty());
  struct Case {
    std::string args;
    int status;
    std::string message;
  };
  const Case cases[] = {
      {"--d-out '" + wrong_path + "' --out-dq '" + dq + "'", 1,
       "dO is [2, 28, 8] but must have Q's shape [2, 29, 8]"},
      {"--d-out '" + nan_path + "' --out-dq '" + dq + "'", 1, "dO has a non-finite value at flat index 77"},
      {"--d-out '" + (f.dir / "missing.npy").string() + "' --out-dq '" + dq + "'", 1,
       "missing.npy: cannot open (No such file or directory)"},
      {"--out-dq '" + (f.dir / "no_such_folder" / "dq.npy").string() + "'", 1, "no_such_folder' does not exist"},
      {"--out-dq '" + f.q + "'", 1, "is the input " + f.q + "; writing dQ there would destroy it"},
      {"--d-out '" + f.d_out + "' --out-dk '" + f.d_out + "'", 1, "writing dK there would destroy it"},
      {"--out-dq '" + dq + "' --out-dv '" + dq + "'", 2, "--out-dq and --out-dv name the same file"},
      {"--n 64 --out-dq '" + dq + "'", 2, "--n with --q: the shapes come from the .npy files"},
  };
  for (const Case& c : cases) {
    const auto r = backward(inputs_args(f) + "--algo flash --reps 1 " + c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.status == c.status);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK(r.output.find("backward on") == std::string::npos);  // refused before any run
    std::vector<std::string> left = gradient_leftovers(f.dir);
    std::erase_if(left, [](const std::string& n) { return n == "do_wrong.npy" || n == "do_nan.npy"; });
    CHECK(left.empty());
  }
  // Usage errors without the files: --algo both cannot say whose gradients; --q needs --k and --v.
  for (const char* args : {"--n 16 --out-dq x.npy", "--q q.npy --out-dq x.npy"}) {
    const auto r = backward(args);
    INFO(args << "\n" << r.output);
    CHECK(r.status == 2);
  }
  CHECK(backward("--n 16 --out-dq x.npy").output.find("give --algo naive or --algo flash") != std::string::npos);
  CHECK(backward("--q q.npy --out-dq x.npy").output.find("--q, --k and --v come together") != std::string::npos);
}

TEST_CASE("cli backward: a run that fails writes no gradient and keeps the file that was there") {
  const GradientFiles f = make_gradient_files("failed_run");
  const fs::path dq = f.dir / "dq.npy";
  { std::ofstream(dq) << "the previous file"; }
  // Naive's saved P at N = 512 needs more than a 1 MiB budget: the run fails after the outputs were opened.
  const auto r = backward("--algo naive --n 512 --d 16 --reps 1 --no-check --budget-mib 1 --out-dq '" +
                          dq.string() + "'");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("no gradient written: the run failed") != std::string::npos);
  std::ifstream in(dq);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "the previous file");
  CHECK(gradient_leftovers(f.dir) == std::vector<std::string>{"dq.npy"});  // no temporary file left
}

TEST_CASE("cli bench --backward --json: refused without CUDA with no file left; with a GPU, every row in the JSON") {
  const fs::path dir = attnscope::test::fresh_dir("cli_bench_backward_json");
  const std::string json = (dir / "bench.json").string();
  const auto r = attnscope::test::run_command("timeout 300 '" + std::string(ATTNSCOPE_BINARY) +
                                              "' bench --backward --backend cuda --algo naive,flash --n 64,100 "
                                              "--d 32 --heads 2 --reps 2 --warmup 1 --json '" + json + "'");
  INFO(r.output);
  const bool no_cuda_build = r.output.find("this build has no CUDA backward kernels") != std::string::npos;
  const bool no_device = r.output.find("backend 'cuda' is not available") != std::string::npos;
  if (no_cuda_build || no_device) {  // this machine: the refusal names the file it did not write
    CHECK(r.status == 1);
    CHECK(r.output.find(json + " not written") != std::string::npos);
    CHECK(attnscope::test::entries(dir) == 0);
    return;
  }
  // A CUDA build on a GPU: both algorithms at both N, timed, with the memory stack adding up.
  REQUIRE(r.status == 0);
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);
  CHECK(j["backend"] == "cuda");
  CHECK(j["config"]["d"] == 32);
  REQUIRE(j["rows"].size() == 4);
  for (const auto& row : j["rows"]) {
    INFO(row.dump());
    CHECK(row["ok"] == true);
    CHECK(row["dtype"] == "fp32");
    CHECK(row["forward"]["median_ms"].get<double>() > 0);
    CHECK(row["backward"]["median_ms"].get<double>() > 0);
    CHECK(row["backward"]["samples_ms"].size() == 2);
    const auto& m = row["memory"];
    CHECK(m["total_bytes"].get<uint64_t>() == m["inputs_bytes"].get<uint64_t>() + m["gradients_bytes"].get<uint64_t>() +
                                                  m["saved_bytes"].get<uint64_t>() + m["workspace_bytes"].get<uint64_t>() +
                                                  m["staging_bytes"].get<uint64_t>());
    // naive saves P (N² floats per head), flash the lse (one float per row)
    const uint64_t n = row["n"].get<uint64_t>();
    CHECK(row["saved_bytes"].get<uint64_t>() == (row["algorithm"] == "naive" ? 2 * n * n * 4 : 2 * n * 4));
  }
}
