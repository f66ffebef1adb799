// test_cli_end_to_end.cpp — the real `attnscope` binary run with bad command lines and config files: each case
// asserts the exit status (2 usage, 1 failure, 0 success), the message and that no output file is left. Needs no
// display or GPU: the commands run on the CPU backend, and `render` cases stop at their errors before any drawing.
// docs/BAD_INPUTS.md ("Command line and config files") lists these cases.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/common/test_util.hpp"

namespace {

using attnscope::test::CommandResult;

// Runs `attnscope ARGS` in `dir` (so a file named after a flag would land there), with a time limit: a command
// that hangs (reads /dev/zero to the end) fails the test with status 124 instead of stopping the suite.
CommandResult run_in(const std::filesystem::path& dir, const std::string& args) {
  const CommandResult r = attnscope::test::run_command("cd '" + dir.string() + "' && timeout 60 '" +
                                                       std::string(ATTNSCOPE_BINARY) + "' " + args);
  REQUIRE(r.started);
  return r;
}

struct BadInput {
  std::string args;
  int status;
  std::string message;
};

// Runs every case in a fresh folder and checks its status, its message and that the folder is still empty (no
// output file, no file named after a flag). "OUT" in args stands for out.json / out.png in that folder.
void check_cases(const std::string& name, std::initializer_list<BadInput> cases) {
  for (const BadInput& c : cases) {
    const auto dir = attnscope::test::fresh_dir("cli_e2e_" + name);
    const CommandResult r = run_in(dir, c.args);
    INFO("attnscope " << c.args << "\n" << r.output);
    CHECK(r.status == c.status);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK(r.output.find("terminate called") == std::string::npos);
    CHECK(attnscope::test::entries(dir) == 0);
    std::filesystem::remove_all(dir);
  }
}

// A config file with this text in a scratch folder (kept for the test's run).
[[maybe_unused]] std::string config_file(const std::string& name, const std::string& text) {  // render cases only
  static const auto dir = attnscope::test::fresh_dir("cli_e2e_configs");
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace

TEST_CASE("cli e2e: integers are checked against the range of the type they are used as") {
  check_cases("integers", {
      {"decode --backend cpu --reps 99999999999", 2, "--reps '99999999999' is out of range (allowed: 1..1000)"},
      {"bench --br 4294967360 --n 64 --json out.json", 2, "--br '4294967360' is out of range (allowed: 1..1024)"},
      {"bench --n 64,abc --json out.json", 2, "--n: 'abc' is not a whole number"},
      {"bench --n 64 --reps 0", 2, "--reps '0' is out of range (allowed: 1..1000)"},
      {"bench --n 64 --warmup -1", 2, "--warmup '-1' is out of range (allowed: 0..100)"},
      {"bench --n 64 --d 9223372036854775808", 2, "--d '9223372036854775808' is out of range (allowed: 1..1024)"},
      {"decode --backend cpu --kv-heads 8,x", 2, "--kv-heads: 'x' is not a whole number (allowed: 1..1024)"},
      {"decode --backend cpu --pool-percent 101", 2, "--pool-percent '101' is out of range (allowed: 0..100)"},
      {"decode --backend cpu --context 1e6", 2, "--context '1e6' is not a whole number"},
      {"cost --model gpt2-small --n 0", 2, "--n '0' is out of range (allowed: 1..4194304)"},
      {"cost --model gpt2-small --n 99999999999999999999", 2, "--n '99999999999999999999' is out of range"},
      {"cost --model gpt2-small --n=+12", 2, "--n '+12' is not a whole number"},
      {"cost --model gpt2-small --peak-tflops inf --bandwidth-gbs 1", 2, "--peak-tflops 'inf' is out of range"},
      {"cost --model custom --layers 2 --heads 4 --head-dim 0", 2, "--head-dim '0' is out of range (allowed: 1..1024)"},
      {"scene --from-lesson x.json --step 1 --out out.json --fps 0", 2, "--fps '0' is out of range (allowed: 1..120)"},
      {"scene --from-lesson x.json --step 1 --out out.json --size 99999999999x10", 2, "--size '99999999999x10'"},
      {"scene --from-lesson x.json --step 0 --out out.json", 2, "--step '0' is out of range"},
  });
}

TEST_CASE("cli e2e: flags — values, booleans, unknown names, stray arguments") {
  check_cases("flags", {
      {"run --q q.npy --k k.npy --v v.npy --out --causal", 2, "--out needs a value (found the flag --causal after it"},
      {"run --q q.npy --k k.npy --v v.npy --out o.npy --causal false", 2, "--causal takes its value after '='"},
      {"run --q q.npy --k k.npy --v v.npy --out o.npy --causal=maybe", 2, "'maybe' is not a boolean"},
      {"run --k k.npy --v v.npy --out o.npy", 2, "--q is required"},
      {"bench --caual", 2, "unknown flag --caual; did you mean --causal?"},
      {"bench -n 64", 2, "unexpected argument '-n' (flags start with --); did you mean --n?"},
      {"bench --n 64 --n 128", 2, "--n given twice"},
      {"bench --backend gpu --n 64", 2, "--backend 'gpu' is not a backend (choose cpu or cuda)"},
      {"bench --backward --n 64", 2, "--backward times the CUDA backward kernels: add --backend cuda"},
      {"bench --backward --backend cuda --algo naive,flash-tc --n 64", 2, "--backward runs naive and flash, not flash-tc"},
      {"devices --n 5", 2, "--n applies only with --measure"},
      {"decod", 2, "unknown command 'decod'; did you mean decode?"},
      {"cost --model gpt2-small --jsn", 2, "unknown flag --jsn; did you mean --json?"},
  });
}

TEST_CASE("cli e2e: --causal=false is off and --causal=true is on") {
  const auto dir = attnscope::test::fresh_dir("cli_e2e_causal");
  const std::string bench = "bench --algo flash --n 64 --d 16 --reps 1 --warmup 0 ";
  const CommandResult off = run_in(dir, bench + "--causal=false");
  INFO(off.output);
  CHECK(off.status == 0);
  CHECK(off.output.find("mask dense,") != std::string::npos);
  const CommandResult on = run_in(dir, bench + "--causal=true");
  CHECK(on.status == 0);
  CHECK(on.output.find("mask causal,") != std::string::npos);
  // cost --json=no prints the table, not JSON.
  const CommandResult table = run_in(dir, "cost --model gpt2-small --n 64 --json=no");
  CHECK(table.status == 0);
  CHECK(table.output.rfind("{", 0) != 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli e2e: cost gives the layer split and where attention passes the MLP, for presets and custom models") {
  const auto dir = attnscope::test::fresh_dir("cli_e2e_cost_split");
  const CommandResult preset = run_in(dir, "cost --model llama2-7b --n 4096");
  INFO(preset.output);
  CHECK(preset.status == 0);
  // 2·3·d_model·ffn with LLaMA-2 7B's SwiGLU numbers substituted; the crossover 3·4096·11008 / (2·ρ·32·128).
  CHECK(preset.output.find("MLP FLOPs per token, per layer (SwiGLU)") != std::string::npos);
  CHECK(preset.output.find("= 2·3·d_model·ffn = 2·3·4096·11008") != std::string::npos);
  CHECK(preset.output.find("N where attention FLOPs pass the MLP's") != std::string::npos);
  // A custom model has the split only when given its MLP width.
  const CommandResult bare = run_in(dir, "cost --model custom --layers 2 --heads 4 --head-dim 32 --n 100");
  CHECK(bare.status == 0);
  CHECK(bare.output.find("MLP FLOPs") == std::string::npos);
  const CommandResult custom =
      run_in(dir, "cost --model custom --layers 2 --heads 4 --head-dim 32 --d-model 128 --ffn 512 --n 100 --json");
  CHECK(custom.status == 0);
  CHECK(custom.output.find("\"mlp_flops_per_token\": 262144") != std::string::npos);  // 2·2·128·512, not gated
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli e2e: a scene file on a full disk or past the file-size limit: the reason, exit 1, nothing written") {
  const std::string lesson = std::string(ATTNSCOPE_SOURCE_DIR) + "/assets/lessons/04-flashattention.json";
  check_cases("scene_writes", {
      {"scene --from-lesson '" + lesson + "' --step 1 --out /dev/full", 1,
       "cannot write '/dev/full': the disk is full (No space left on device)"},
  });
  const auto dir = attnscope::test::fresh_dir("cli_e2e_scene_limit");
  const CommandResult r = attnscope::test::run_command("cd '" + dir.string() + "' && ulimit -f 0 && timeout 60 '" +
                                                       std::string(ATTNSCOPE_BINARY) + "' scene --from-lesson '" +
                                                       lesson + "' --step 1 --out s.json");
  INFO(r.output);
  REQUIRE(r.started);
  CHECK(r.status == 1);
  CHECK(r.output.find("the file would pass the size limit for files") != std::string::npos);
  CHECK(attnscope::test::entries(dir) == 0);  // neither the scene nor a temporary file
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli e2e: decode --kv-dtype and --kv-group: bad values named, nothing run") {
  check_cases("kv_dtype", {
      {"decode --backend cpu --kv-dtype fp4", 2, "--kv-dtype 'fp4': choose fp16, fp8 (e4m3) or int8"},
      {"decode --backend cpu --kv-dtype FP8", 2, "--kv-dtype 'FP8': choose fp16, fp8 (e4m3) or int8"},
      {"decode --backend cpu --kv-dtype fp8 --kv-group 24", 2,
       "--kv-group: scale group 24 tokens: must be a power of two in 1..4096"},
      {"decode --backend cpu --kv-dtype int8 --kv-group 8192", 2, "--kv-group '8192' is out of range (allowed: 1..4096)"},
      {"decode --backend cpu --kv-dtype int8 --kv-group 0", 2, "--kv-group '0' is out of range (allowed: 1..4096)"},
      {"decode --backend cpu --kv-dtype int8 --kv-group x", 2, "--kv-group 'x' is not a whole number (allowed: 1..4096)"},
      {"decode --backend cpu --kv-group 32", 2, "--kv-group applies to fp8 and int8 caches (add --kv-dtype fp8 or int8)"},
      {"decode --backend cpu --kv-dtype int8 --dtype bf16", 2,
       "--kv-dtype int8 is compared with an fp16 cache: leave --dtype at fp16"},
  });
}

TEST_CASE("cli e2e: decode --kv-dtype fp8 and int8 print the dtype, bytes per token and the error against fp16") {
  const auto dir = attnscope::test::fresh_dir("cli_e2e_kv_dtype_run");
  for (const char* dtype : {"fp8", "int8"}) {
    const CommandResult r = run_in(dir, std::string("decode --backend cpu --batch 1 --context 67 --heads 4 "
                                                    "--kv-heads 2 --d 32 --reps 1 --layout paged --kv-group 16 "
                                                    "--kv-dtype ") + dtype + " --json out.json");
    INFO(dtype << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find(std::string(dtype) + " cache (16-token scale groups)") != std::string::npos);
    CHECK(r.output.find("max|err|") != std::string::npos);
    CHECK(r.output.find("rel L2") != std::string::npos);
    // The row: GQA, 2 KV heads, paged, the dtype, 2·2·(32 + 4/16) = 129.0 bytes per token and layer.
    CHECK(r.output.find(std::string("paged/16   ") + dtype) != std::string::npos);
    CHECK(r.output.find(" 129.0 ") != std::string::npos);
    std::ifstream file(dir / "out.json");
    std::stringstream text;
    text << file.rdbuf();
    const std::string json = text.str();
    CHECK(json.find("\"kv_dtype\": \"" + std::string(dtype) + "\"") != std::string::npos);
    CHECK(json.find("\"error_measured\": true") != std::string::npos);
    CHECK(json.find("\"bytes_per_token_layer\": 129.0") != std::string::npos);
  }
  // fp16 rows are the reference: no error measured.
  const CommandResult f16 = run_in(dir, "decode --backend cpu --batch 1 --context 40 --heads 4 --kv-heads 2 --d 32 "
                                        "--reps 1 --layout contiguous");
  CHECK(f16.status == 0);
  CHECK(f16.output.find("fp16 ") != std::string::npos);
  CHECK(f16.output.find("ref       ref") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli e2e: every command's help states its exit status; run's mask list is there") {
  const auto dir = attnscope::test::fresh_dir("cli_e2e_help");
  for (const char* command : {"run", "bench", "decode", "cost", "scene", "devices"}) {
    const CommandResult r = run_in(dir, std::string(command) + " --help");
    INFO(command << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("Exit status") != std::string::npos);
  }
  const CommandResult run = run_in(dir, "run --help");
  CHECK(run.output.find("see below") == std::string::npos);
  for (const char* term : {"window:W", "strided:S[,B]", "random:D[,seed[,block]]", "global:G", "grid:B:ROWS"})
    CHECK_MESSAGE(run.output.find(term) != std::string::npos, term);
  std::filesystem::remove_all(dir);
}

#if defined(ATTNSCOPE_TEST_RENDER)
TEST_CASE("cli e2e: --config files: numbers, types and sizes, each named (render stops before drawing)") {
  const std::string range = "(allowed: 1..1048576)";
  const std::string c_overflow = config_file("overflow.json", R"({"n": 1e400})");
  const std::string c_u64 = config_file("u64.json", R"({"n": 18446744073709551615})");
  const std::string c_neg = config_file("neg.json", R"({"n": -1})");
  const std::string c_frac = config_file("frac.json", R"({"n": 1.5})");
  const std::string c_text = config_file("text.json", R"({"n": "1024"})");
  const std::string c_null = config_file("null.json", R"({"n": null})");
  const std::string c_seed = config_file("seed.json", R"({"seed": 18446744073709551616})");
  const std::string c_twice = config_file("twice.json", "{\"n\": 64,\n\"n\": 128}");
  const std::string c_causal = config_file("causal.json", R"({"causal": "yes"})");
  const std::string c_big = config_file("big.json", "{\"mask\": \"" + std::string(2 << 20, ' ') + "\"}");
  const auto folder = attnscope::test::fresh_dir("cli_e2e_folder");
  check_cases("config", {
      {("render --out out.png --config " + c_overflow), 2, ("key \"n\": 1e400 is out of range " + range)},
      {("render --out out.png --config " + c_u64), 2,
       ("key \"n\": 18446744073709551615 is out of range " + range)},
      {("render --out out.png --config " + c_neg), 2, ("neg.json:1: key \"n\": -1 is out of range " + range)},
      {("render --out out.png --config " + c_frac), 2, ("key \"n\": 1.5 is not a whole number " + range)},
      {("render --out out.png --config " + c_text), 2,
       ("key \"n\": \"1024\" (text) is not a whole number " + range)},
      {("render --out out.png --config " + c_null), 2, ("key \"n\": null is not a whole number " + range)},
      {("render --out out.png --config " + c_seed), 2,
       "key \"seed\": 1.8446744073709552e+19 is out of range (allowed: 0..18446744073709551615)"},
      {("render --out out.png --config " + c_twice), 2, "twice.json:2: key \"n\" is given twice (first on line 1); keep one"},
      {("render --out out.png --config " + c_causal), 2, "key \"causal\" must be true or false, found \"yes\""},
      {("render --out out.png --config " + c_big), 2, "bytes (2.0 MiB); a config file is at most 1 MiB"},
      {"render --out out.png --config /dev/zero", 2, "/dev/zero: more than 1 MiB (read stopped there)"},
      {("render --out out.png --config " + folder.string()), 2, ": is a folder; give a config file"},
      {"render --out out.png --config absent.json", 2, "absent.json: cannot open the config file"},
      {"render --out out.png --n 18446744073709551615", 2, "--n '18446744073709551615' is out of range (allowed: 1..1048576)"},
      {"render --out out.png --seed 18446744073709551616", 2, "--seed '18446744073709551616' is out of range"},
      {"render --out --causal", 2, "--out needs a value (found the flag --causal after it"},
      {"render --out out.png --causal=2", 2, "'2' is not a boolean"},
  });
  std::filesystem::remove_all(folder);
}
#endif

#if defined(ATTNSCOPE_TEST_RENDER)
TEST_CASE("cli e2e: render and gui --help exit 0 and state their exit status") {
  const auto dir = attnscope::test::fresh_dir("cli_e2e_render_help");
  for (const char* command : {"render --help", "gui --help", "render -h", "gui --n 64 --help", "--help render"}) {
    const CommandResult r = run_in(dir, command);
    INFO(command << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("Exit status: 0") != std::string::npos);
  }
  CHECK(attnscope::test::entries(dir) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli e2e: render's integer and real flags are range-checked like the other commands' (nothing drawn)") {
  check_cases("render_ranges", {
      {"render --out out.png --time-frames 100001", 2, "--time-frames '100001' is out of range (allowed: 0..100000)"},
      {"render --out out.png --time-frames 99999999999999999999", 2, "--time-frames '99999999999999999999' is out of range"},
      {"render --out out.png --time-frames -1", 2, "--time-frames '-1' is out of range (allowed: 0..100000)"},
      {"render --out out.png --time-frames 1.5", 2, "--time-frames '1.5' is not a whole number"},
      {"render --out out.png --render-scale 3", 2, "--render-scale '3': use 1, 2 or 4"},
      {"render --out out.png --render-scale 8", 2, "--render-scale '8' is out of range (allowed: 1..4)"},
      {"render --out out.png --render-scale 4294967298", 2, "--render-scale '4294967298' is out of range (allowed: 1..4)"},
      {"render --out out.png --soak 0", 2, "--soak '0' is out of range (allowed: 1..10000000)"},
      {"render --out out.png --soak 10 --soak-sample 0", 2, "--soak-sample '0' is out of range (allowed: 1..1000000)"},
      {"render --out out.png --soak 10 --soak-rerun x", 2, "--soak-rerun 'x' is not a whole number"},
      {"render --out out.png --step 0", 2, "--step '0' is out of range (allowed: 1..1000000)"},
      {"render --out out.png --timeout 0", 2, "--timeout '0' is out of range (allowed: 0.1..86400)"},
      {"render --out out.png --timeout nan", 2, "--timeout 'nan'"},
      {"render --out out.png --font-scale 9", 2, "--font-scale '9' is out of range (allowed: 0.5..4)"},
      {"render --scene x.json --out out.png --fps 0", 2, "--fps '0' is out of range (allowed: 1..120)"},
      {"gui --size 0x0", 2, "--size 0x0: width and height must be 16..16384 pixels"},
      {"gui --size 99999999999x10", 2, "--size '99999999999x10' is not WIDTHxHEIGHT"},
  });
}
#endif
