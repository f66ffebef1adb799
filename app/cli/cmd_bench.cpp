// cmd_bench.cpp — `attnscope bench`: times algorithms on a backend over a grid of sequence lengths and prints
// time (median, min, max), TFLOP/s and GB/s by the cost model, memory allocated, and each algorithm's speed
// relative to the first one run at the same N. --heatmap also times the app's full heatmap recompute
// (pooled P image + flash output of one head). Works for any backend app::make_backend can make.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <new>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/args.hpp"
#include "app/cli/backends.hpp"
#include "app/cli/bench_backward.hpp"
#include "app/cli/bench_beyond.hpp"
#include "app/cli/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/backend.hpp"
#include "core/sm_timeline.hpp"
#include "core/trace_io.hpp"

namespace attnscope::app {
namespace {

struct Row {
  int64_t n = 0;
  std::string algo;
  bool ok = false;
  std::string error;
  Timing timing;
  double flops = 0, bytes = 0;
  uint64_t allocated = 0;
  std::string kernel;  // what ran, in the backend's words (a split schedule says so)
  double ratio = 0;  // time of the reference algorithm / this time
  std::string ratio_to;
};

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

int run_bench(const std::vector<std::string>& argv) {
  Args args(argv, {"--causal", "--heatmap", "--backward"});
  const std::string backend_name = args.get_or("--backend", "cpu");
  std::vector<std::string> algo_names = args.get_list("--algo");
  if (algo_names.empty()) algo_names = {"naive", "flash"};
  // linear-attention / selective-scan: their own flags, table and targets (bench_beyond.hpp); mixing is an error there.
  for (const std::string& name : algo_names)
    if (is_beyond_bench_algorithm(name)) return run_beyond_bench(argv);
  // Every whole number in the range of the type it is stored in (tiles and counts are int): a value outside is an
  // error quoting it, never a wrapped or clamped number.
  const std::vector<int64_t> ns = args.get_int_list("--n", {1024, 2048, 4096}, 1, int64_t{1} << 24);
  const int64_t d = args.get_int("--d", 64, 1, 1024);
  const int64_t heads = args.get_int("--heads", 1, 1, 4096);
  const int64_t kv_heads = args.get_int("--kv-heads", heads, 1, 4096);
  const int64_t batch = args.get_int("--batch", 1, 1, 65536);
  const int64_t reps = args.get_int("--reps", 5, 1, 1000);
  const int64_t warmup = args.get_int("--warmup", 1, 0, 100);
  const int64_t br = args.get_int("--br", 64, 1, 1024), bc = args.get_int("--bc", 64, 1, 1024);
  const std::string mask_text = args.get_or("--mask", "");
  const std::string dtype_text = args.get_or("--dtype", "fp32");
  const std::string json_path = args.get_or("--json", "");
  const std::string trace_path = args.get_or("--trace", "");
  const std::string timeline_path = args.get_or("--sm-timeline", "");
  const std::vector<int64_t> probe_rows = args.get_int_list("--probe-rows", {0}, 0, int64_t{1} << 24);
  const std::string tc_path_text = args.get_or("--flash-tc-path", "auto");
  const std::string split_text = args.get_or("--visit-split", "");
  std::vector<std::string> errors =
      args.errors({"--backend", "--algo", "--n", "--d", "--heads", "--kv-heads", "--batch", "--mask", "--causal",
                   "--reps", "--warmup", "--json", "--br", "--bc", "--dtype", "--heatmap", "--trace", "--sm-timeline", "--probe-rows",
                   "--flash-tc-path", "--backward", "--visit-split"});
  if (auto problem = backend_name_problem(backend_name); !problem.empty()) errors.push_back("--backend " + problem);
  const std::optional<TensorCorePath> tc_path = parse_tensor_core_path(tc_path_text);
  if (!tc_path)
    errors.push_back("--flash-tc-path '" + tc_path_text +
                     "': choose auto (the fastest the device allows), mma, wgmma, ws or ws-no-pingpong");
  std::optional<VisitSplit> visit_split;  // unset: the backend's default
  if (!split_text.empty()) {
    visit_split = parse_visit_split(split_text);
    if (!visit_split)
      errors.push_back("--visit-split '" + split_text + "': choose auto (split long visit lists) or off");
  }
  std::vector<Algorithm> algos;
  for (auto& name : algo_names) {
    if (auto a = parse_algorithm(name)) algos.push_back(*a);
    else errors.push_back("--algo: unknown algorithm '" + name +
                          "' (naive, flash, flash1, block-sparse, gathered, decode, reference, flash-tc)");
  }
  MaskSpec mask;
  if (!mask_text.empty()) {
    auto parsed = parse_mask(mask_text);
    if (!parsed.ok) errors.push_back("--mask '" + mask_text + "': " + parsed.error);
    else mask = parsed.mask;
  }
  if (args.has("--causal")) mask.causal = true;
  const auto dtype = parse_dtype(dtype_text);
  if (!dtype) errors.push_back("--dtype '" + dtype_text + "': choose fp32, fp16 or bf16");
  if (!trace_path.empty() && (algos.size() != 1 || ns.size() != 1))
    errors.push_back("--trace records one run: give exactly one --algo and one --n");
  if (!timeline_path.empty() && (algos.size() != 1 || algos[0] != Algorithm::FlashTensorCore || ns.size() != 1))
    errors.push_back("--sm-timeline records one CTA of flash-tc's warp-specialised kernel: give --algo flash-tc and one "
                     "--n");
  if (args.has("--backward")) {  // the CUDA forward + backward pass: bench_backward.hpp
    if (backend_name != "cuda") errors.push_back("--backward times the CUDA backward kernels: add --backend cuda");
    for (Algorithm a : algos)
      if (a != Algorithm::Naive && a != Algorithm::Flash)
        errors.push_back(std::string("--backward runs naive and flash, not ") + algorithm_name(a));
  }
  if (int rc = report_errors("bench", errors)) return rc;
  if (args.has("--backward")) {
    BackwardBenchConfig config;
    config.algorithms = algos;
    config.ns = ns;
    config.shape.batch = batch;
    config.shape.q_heads = heads;
    config.shape.kv_heads = kv_heads;
    config.shape.head_dim = d;
    config.shape.dtype = *dtype;
    config.shape.mask = mask;
    config.warmup = static_cast<int>(warmup);
    config.repetitions = static_cast<int>(reps);
    config.json_path = json_path;
    return run_backward_bench(config);
  }

  std::string why_not;
  std::unique_ptr<Backend> backend = make_backend(backend_name, &why_not);
  if (!backend) {
    std::cerr << "attnscope bench: backend '" << backend_name << "' is not available: " << why_not << "\n";
    return 1;
  }

  std::cout << "backend " << backend->name() << ": " << backend->device_name() << "\n"
            << "B=" << batch << " H=" << heads << "/" << kv_heads << " d=" << d << " " << dtype_text << " mask "
            << mask.to_string() << ", tiles Br=" << br << " Bc=" << bc << ", " << warmup << " warm-up + " << reps
            << " timed runs each; GB/s and TFLOP/s by the cost model's bytes and FLOPs\n\n";
  std::printf("%-14s %7s %10s %10s %10s %9s %9s %11s %12s\n", "algorithm", "N", "median ms", "min ms", "max ms",
              "TFLOP/s", "GB/s", "allocated", "speed-up");

  std::vector<Row> rows;
  int failures = 0;
  for (int64_t n : ns) {
    const size_t first_index = rows.size();
    int64_t reference_row = -1;  // index of the first algorithm that ran at this N
    for (Algorithm algo : algos) {
      AttentionSpec spec;
      spec.batch = batch;
      spec.q_heads = heads;
      spec.kv_heads = kv_heads;
      spec.kv_len = n;
      spec.q_len = algo == Algorithm::Decode ? 1 : n;  // decode: one new query against an n-token cache
      spec.head_dim = d;
      spec.dtype = *dtype;
      spec.mask = mask;
      Row row;
      row.n = n;
      row.algo = algorithm_name(algo);
      auto problems = validate(spec, backend->limits(), materialises_scores(algo));  // S's limit: naive only
      std::string why;
      if (!problems.empty()) {
        row.error = problems.front();
      } else if (!backend->supports(algo, spec, &why)) {
        row.error = "not supported on " + backend->name() + ": " + why;
      } else {
        AttentionInputs in;
        try {
          in = generate_inputs(spec, Generator::Gaussian, 1234 + static_cast<uint64_t>(n));
        } catch (const std::bad_alloc&) {
          row.error = "out of memory while generating the inputs for " + spec.summary();
        }
        if (row.error.empty()) {
          RunRequest req;
          req.algorithm = algo;
          req.inputs = &in;
          req.tiles = {static_cast<int>(br), static_cast<int>(bc)};
          req.warmup = static_cast<int>(warmup);
          req.repetitions = static_cast<int>(reps);
          req.want_output = false;
          req.tensor_core_path = tc_path.value_or(TensorCorePath::Auto);
          req.visit_split = visit_split;
          if (!trace_path.empty()) {
            req.record_trace = true;  // the backend records it in one extra, untimed run
            for (int64_t p : probe_rows) req.probe_rows.push_back(static_cast<int32_t>(p));
          }
          req.record_sm_timeline = !timeline_path.empty();
          RunResult r = backend->run(req);
          if (r.ok && !timeline_path.empty()) {
            if (!r.sm_timeline) {
              row.error = "the backend recorded no inside-one-SM timeline";
            } else if (const FileWriteResult w = write_file_atomically(timeline_path, sm_timeline_json(*r.sm_timeline));
                       !w.ok) {
              row.error = w.error;
            } else {
              const auto shares = sm_lane_shares(*r.sm_timeline, sm_timeline_spans(*r.sm_timeline));
              std::cout << "inside one SM: CTA Q tile " << r.sm_timeline->q_tile << " on SM " << r.sm_timeline->sm
                        << ", " << r.sm_timeline->steps << " steps";
              for (size_t lane = 1; lane < shares.size(); ++lane)
                std::printf("; consumer %zu: tensor cores %.0f%%, softmax %.0f%%, waiting %.0f%%", lane - 1,
                            100 * shares[lane].tensor, 100 * shares[lane].softmax, 100 * shares[lane].waiting);
              std::cout << " -> " << timeline_path << "\n";
            }
            if (!row.error.empty()) r.ok = false, r.error = row.error;
          }
          if (r.ok && !trace_path.empty()) {
            std::string save_error;
            if (!r.trace) row.error = algorithm_name(algo) + std::string(" recorded no trace on this backend");
            else if (!save_trace(*r.trace, trace_path, &save_error)) row.error = save_error;
            else std::cout << "trace: " << r.trace->ctas.size() << " CTAs, " << r.trace->probes.size()
                           << " probed rows -> " << trace_path << "\n";
            if (!row.error.empty()) r.ok = false, r.error = row.error;
          }
          if (!r.ok) {
            row.error = r.error;
            if (r.out_of_memory)
              row.error = "out of memory: needs " + format_bytes(static_cast<double>(r.bytes_needed)) + ", " +
                          format_bytes(static_cast<double>(r.bytes_free)) + " free — " + r.error;
          } else {
            row.ok = true;
            row.timing = r.timing;
            row.flops = r.flops;
            row.bytes = r.bytes_moved;
            row.allocated = r.bytes_allocated;
            row.kernel = r.kernel;
          }
        }
      }
      rows.push_back(row);
      if (rows.back().ok && reference_row < 0) reference_row = static_cast<int64_t>(rows.size()) - 1;
    }
    if (args.has("--heatmap")) {
      // The app's full recompute after a change: the pooled P heatmap of head 0 and the flash output.
      Row row;
      row.n = n;
      row.algo = "heatmap+out";
      AttentionSpec spec;
      spec.batch = batch; spec.q_heads = heads; spec.kv_heads = kv_heads; spec.q_len = spec.kv_len = n;
      spec.head_dim = d; spec.dtype = *dtype; spec.mask = mask;
      // The heatmap pools tile by tile (S's limit does not apply); the output is computed by flash.
      if (auto problems = validate(spec, backend->limits(), false); !problems.empty()) {
        row.error = problems.front();
      } else {
        // Out of memory (the inputs, the image, the output) becomes this row's error, as for the algorithms
        // above: the rows already printed and the JSON file are kept.
        try {
          const AttentionInputs in = generate_inputs(spec, Generator::Positional, 99);
          std::vector<double> samples;
          for (int64_t i = 0; i < warmup + reps && row.error.empty(); ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            ScoreImageRequest image_req;
            image_req.inputs = &in;
            image_req.kind = ScoreKind::Probabilities;
            const ScoreImage image = backend->score_image(image_req);
            RunRequest req;
            req.algorithm = Algorithm::Flash;
            req.inputs = &in;
            req.warmup = 0;
            req.repetitions = 1;
            const RunResult r = backend->run(req);
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (!image.ok) row.error = "score image: " + image.error;
            else if (!r.ok) row.error = "flash: " + r.error;
            else if (i >= warmup) samples.push_back(ms);
          }
          if (row.error.empty()) {
            row.ok = true;
            row.timing = Timing::from_samples(samples);
          }
        } catch (const std::bad_alloc&) {
          row.error = "out of memory: the heatmap recompute of " + spec.summary() +
                      " could not allocate its inputs, image or output (" +
                      format_bytes(static_cast<double>(backend->memory().free_bytes)) +
                      " free on the machine; a process limit such as ulimit -v may be lower)";
        }
      }
      rows.push_back(row);
    }
    for (size_t i = first_index; i < rows.size(); ++i) {
      Row& row = rows[i];
      const bool comparable = reference_row >= 0 &&
                              (row.algo == "decode") == (rows[static_cast<size_t>(reference_row)].algo == "decode");
      if (row.ok && comparable && row.algo != "heatmap+out") {  // decode solves a 1-query problem: not comparable
        const Row& ref = rows[static_cast<size_t>(reference_row)];
        row.ratio = ref.timing.median_ms / row.timing.median_ms;
        row.ratio_to = ref.algo;
      }
    }
    for (size_t i = first_index; i < rows.size(); ++i) {
      const Row& row = rows[i];
      if (!row.ok) {
        ++failures;
        std::printf("%-14s %7lld  %s\n", row.algo.c_str(), static_cast<long long>(row.n), row.error.c_str());
        continue;
      }
      const double s = row.timing.median_ms * 1e-3;
      const std::string tflops = row.flops > 0 ? fixed(row.flops / s * 1e-12, 4) : "-";
      const std::string gbs = row.bytes > 0 ? fixed(row.bytes / s * 1e-9, 2) : "-";
      const std::string ratio = row.ratio > 0 ? fixed(row.ratio, 2) + "x " + row.ratio_to : "";
      const std::string alloc = row.algo == "heatmap+out" ? "-" : format_bytes_binary(static_cast<double>(row.allocated));
      std::printf("%-14s %7lld %10.3f %10.3f %10.3f %9s %9s %11s %12s\n", row.algo.c_str(),
                  static_cast<long long>(row.n), row.timing.median_ms, row.timing.min_ms, row.timing.max_ms,
                  tflops.c_str(), gbs.c_str(), alloc.c_str(), ratio.c_str());
    }
  }

  if (!json_path.empty()) {
    nlohmann::json j;
    j["backend"] = backend->name();
    j["device"] = backend->device_name();
    j["config"] = {{"batch", batch}, {"heads", heads}, {"kv_heads", kv_heads}, {"d", d}, {"dtype", dtype_text},
                   {"mask", mask.to_string()}, {"br", br}, {"bc", bc}, {"reps", reps}, {"warmup", warmup},
                   {"visit_split", visit_split ? visit_split_name(*visit_split)
                                               : visit_split_name(backend->capabilities().visit_split_default)}};
    j["rows"] = nlohmann::json::array();
    for (auto& row : rows) {
      nlohmann::json r = {{"n", row.n}, {"algorithm", row.algo}, {"ok", row.ok}};
      if (!row.ok) {
        r["error"] = row.error;
      } else {
        r["median_ms"] = row.timing.median_ms;
        r["min_ms"] = row.timing.min_ms;
        r["max_ms"] = row.timing.max_ms;
        r["samples_ms"] = row.timing.samples_ms;
        r["flops"] = row.flops;
        r["bytes_moved"] = row.bytes;
        r["bytes_allocated"] = row.allocated;
        if (!row.kernel.empty()) r["kernel"] = row.kernel;
        if (row.ratio > 0) r["speedup_vs"] = {{"algorithm", row.ratio_to}, {"ratio", row.ratio}};
      }
      j["rows"].push_back(r);
    }
    // Temporary file renamed into place; a failed write says why and leaves no partial file.
    if (const FileWriteResult written = write_file_atomically(json_path, j.dump(2) + "\n"); !written.ok) {
      std::cerr << "attnscope bench: " << written.error << "\n";
      return 1;
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

const Command kBenchCommand{
    "bench", "time attention algorithms on a backend (table of time, TFLOP/s, GB/s, memory, speed-ups)",
    "attnscope bench --backend cpu|cuda --algo naive,flash,... --n 1024,2048,4096 --d 64 --heads H\n"
    "                [--kv-heads H] [--batch B] [--mask SPEC] [--causal] [--reps R] [--json FILE]\n"
    "  --algo LIST      naive, flash, flash1, block-sparse, gathered, decode, reference, flash-tc (default naive,flash)\n"
    "                   decode runs one new query per sequence against an N-token KV cache\n"
    "  --n LIST         sequence lengths (default 1024,2048,4096)   --d D   head dimension (default 64)\n"
    "  --heads H --kv-heads K --batch B   (defaults 1, H, 1)         --dtype fp32|fp16|bf16 (default fp32)\n"
    "  --mask SPEC      attention pattern (see `attnscope run --help`), --causal adds causal on top\n"
    "  --reps R --warmup W   timed runs, 1..1000 (default 5) after warm-up runs, 0..100 (default 1)\n"
    "  --br Br --bc Bc  tile sizes, 1..1024 (default 64, 64)\n"
    "  --heatmap        also time the app's full heatmap recompute: pooled P image (512x512) + flash output\n"
    "  --json FILE      write every row (with all samples) as JSON\n"
    "  --backward       time forward and backward (training) on CUDA instead: naive (any --dtype) and flash\n"
    "                   (fp32), with the device memory each holds (P or lse saved for the backward pass);\n"
    "                   with --json every row: forward and backward median/min/max/samples, the memory stack\n"
    "                   (inputs, gradients, saved, workspace, staging), out-of-memory and unsupported rows\n"
    "                   with the reason\n"
    "  --trace FILE     also record a trace (one extra, untimed run; one --algo and one --n) and save it as JSON\n"
    "  --sm-timeline FILE  flash-tc on an H100/H200: one extra launch of the warp-specialised kernel logs what each\n"
    "                   warpgroup of one CTA did (copies, waits, QKᵀ, softmax, P·V) on the SM clock; saved as JSON\n"
    "  --probe-rows R   query rows of batch 0, head 0 whose m, l, rescale are probed per tile (default 0)\n"
    "  --flash-tc-path auto|mma|wgmma|ws|ws-no-pingpong   flash-tc on CUDA: which implementation (default auto:\n"
    "                   wgmma on compute capability 9.0 with sm_90a code, else mma.sync). ws is the\n"
    "                   warp-specialised kernel (block-sparse schedules only); ws-no-pingpong is ws without turn\n"
    "                   taking between its consumer warpgroups (an experiment). A path the device or schedule\n"
    "                   cannot run fails in words.\n"
    "  --visit-split auto|off   block-sparse, gathered and flash-tc schedules: cut the Q tiles whose visit lists\n"
    "                   are much longer than the median into pieces merged by log-sum-exp (default: CPU auto,\n"
    "                   CUDA off)\n"
    "Beyond attention (issue 20): --algo linear-attention and/or selective-scan (not mixed with the algorithms\n"
    "above; defaults B 8, H 32, d 128, fp16, causal, N 1024,2048,4096,8192,16384)\n"
    "  linear-attention chunked causal linear attention (phi = elu + 1; --causal=false: non-causal) beside a\n"
    "                   flash baseline on the same shape: both times, the speed-up and the crossover N (where\n"
    "                   linear becomes faster, interpolated on log N); target: faster at N = 16384\n"
    "  selective-scan   the S6 scan (fp32): GB/s as a share of the copy bandwidth measured in the same run;\n"
    "                   target >= 70% of copy at the longest N\n"
    "  --batch --heads --kv-heads --d --dtype --causal --n --reps --warmup --json   as above\n"
    "  --channels D     scan channels, 1..65536 (default 4096)   --state S   scan state size, 1..256 (default 16)\n"
    "  --chunk C        keys per chunk (linear, default 64; CUDA takes 1..256) or steps per chunk (scan,\n"
    "                   default 256), 1..65536\n"
    "  --baseline auto|flash|flash-tc|none   linear attention's comparison (default auto: flash-tc where the\n"
    "                   backend has tensor cores, else flash)\n"
    "  --json FILE      every row, the copy bandwidth, the targets and their verdicts (met, missed, not measured)\n"
    "Exit status: 0 every row ran; 1 a row failed (unsupported, out of memory), the backend is not available or\n"
    "--json was not written; 2 usage error (unknown flag, bad value; nothing was run).",
    run_bench};

}  // namespace attnscope::app
