// cmd_decode.cpp — `attnscope decode`: the decode benchmark and the decode loop, through Backend::decode_loop.
//
//   table (default)  for each KV-head count (MHA / GQA / MQA): one decode of a new token per sequence against a
//                    cache of --context tokens, contiguous and paged; bytes read from the cache / median time, as a
//                    ratio of the device-to-device copy bandwidth measured in the same call; the paged overhead.
//   --kv-dtype       fp16, fp8 (e4m3) or int8 cache elements (kv_quant.hpp); a quantised row also gives its bytes
//                    per token (scales included) and its output error against an fp16 cache of the same tokens
//   --steps T        the decode loop: T steps of append K/V -> decode, ending at --context; time per token,
//                    achieved bandwidth and the memory the cache holds, every --every steps.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/args.hpp"
#include "app/cli/backends.hpp"
#include "app/cli/commands.hpp"
#include "core/backend.hpp"
#include "core/kv_cache.hpp"

namespace attnscope::app {
namespace {

constexpr const char* kName = "decode";

const char* kHelp =
    "attnscope decode [flags]\n\n"
    "Decoding one new token per sequence reads the whole KV cache: a memory-bound kernel. This times the decode\n"
    "kernel (flash-decoding: split-K, one CTA per KV head's group of query heads) on a contiguous and a paged cache\n"
    "and prints bytes read from the cache / time beside the device-to-device copy bandwidth measured in the same\n"
    "run. With --steps it runs the decode loop (append K/V -> decode) and prints time per token as the cache grows.\n\n"
    "  --backend cuda|cpu      where it runs (cpu: the CPU twin, fp32 storage)      default cuda\n"
    "  --batch B               sequences decoded together, 1..4096                   default 8\n"
    "  --context L             cache length per sequence, 1..16777216                default 32768\n"
    "  --heads H               query heads, 1..1024                                  default 32\n"
    "  --kv-heads LIST         KV-head counts to compare (H: MHA, 1: MQA)            default 32,8,1\n"
    "  --d D                   head dimension, 1..256 (CUDA: 64 or 128)              default 128\n"
    "  --dtype fp16|bf16       cache storage                                         default fp16\n"
    "  --kv-dtype fp16|fp8|int8  cache elements: fp8 (e4m3) and int8 hold one byte and one fp32 scale per group\n"
    "                          of tokens, K and V, per KV head; the table adds bytes per token and the output\n"
    "                          error against an fp16 cache of the same tokens             default fp16\n"
    "  --kv-group G            tokens per scale (fp8/int8), a power of two 1..4096   default 16\n"
    "  --layout LIST           contiguous, paged or both                             default contiguous,paged\n"
    "  --page P                paged cache: tokens per page, a power of two 16..256  default 16\n"
    "  --reps R                timed decodes per measurement (median), 1..1000       default 20\n"
    "  --steps T               run the decode loop for the last T tokens of the context\n"
    "  --every K               in the loop, time every K-th step                     default 64\n"
    "  --check                 exit 1 when a layout misses its target (>= 85% of copy bandwidth for MHA and\n"
    "                          GQA, >= 70% for MQA)\n"
    "  --json FILE             also write the rows as JSON\n\n"
    "Experiments (CUDA; docs/journal/decode.md):\n"
    "  --variant NAME          decode kernel: auto, balanced or balanced-tma         default auto\n"
    "                          (auto: balanced-tma on sm_90+, balanced before)\n"
    "  --pool-percent P        balanced: share of each split's tiles in the tail pool, 0..100   default 10\n"
    "  --probe LIST            instrumented kernel: rotate, skip-math, interleave (skip-math: output not valid)\n"
    "  --timing device|launch  device: each decode's own GPU time, L2 flushed first; launch: events on an idle\n"
    "                          GPU, which adds the host's launch latency             default device\n"
    "  --read FORM             the read-only reference: stream, chunks,CTAS,THREADS[,rotate][,cg] or\n"
    "                          ring,CTAS,THREADS,STAGES,TILE_KB                      default stream\n"
    "  --timeline FILE         append per-CTA timelines of each row's decode to FILE (CSV;\n"
    "                          scripts/decode_timeline.py summarises it)\n\n"
    "Exit status: 0 success; 1 a row failed, --check missed a target, the backend is not available or --json was\n"
    "not written; 2 usage error (unknown flag, bad value; nothing was run).\n\n"
    "example: attnscope decode --batch 8 --context 32768 --heads 32 --kv-heads 32,8,1 --d 128";

std::string layout_name(int64_t q_heads, int64_t kv_heads) {
  if (kv_heads == q_heads) return "MHA";
  if (kv_heads == 1) return "MQA";
  return "GQA";
}

struct Row {
  std::string layout, cache;
  int64_t kv_heads = 0;
  bool ok = false;
  std::string error;
  DecodeStepSample sample;
  double copy_gbs = 0, ratio = 0;
  double read_gbs = 0;  // the read-only kernel over the same bytes (0: the backend does not measure it)
};

int run_decode(const std::vector<std::string>& argv) {
  Args args(argv, {"--check"});
  const std::string backend_name = args.get_or("--backend", "cuda");
  // Ranges as validate(DecodeLoopRequest) states them (core/kv_cache.hpp), so a typed value is checked once, here,
  // with its text quoted; int fields (reps) are converted only after this check.
  const int64_t batch = args.get_int("--batch", 8, 1, 4096);
  const int64_t context = args.get_int("--context", 32768, 1, int64_t{1} << 24);
  const int64_t heads = args.get_int("--heads", 32, 1, 1024);
  const std::vector<int64_t> kv_list = args.get_int_list("--kv-heads", {32, 8, 1}, 1, 1024);
  const int64_t d = args.get_int("--d", 128, 1, 256);
  const std::string dtype_text = args.get_or("--dtype", "fp16");
  std::vector<std::string> layouts = args.get_list("--layout");
  if (layouts.empty()) layouts = {"contiguous", "paged"};
  const int64_t page = args.get_int("--page", 16, 1, 1 << 20);
  const int64_t reps = args.get_int("--reps", 20, 1, 1000);
  const int64_t steps = args.get_int("--steps", 0, 0, int64_t{1} << 24);
  const int64_t every = args.get_int("--every", 64, 1, int64_t{1} << 24);
  const std::string json_path = args.get_or("--json", "");
  const std::string variant_text = args.get_or("--variant", "auto");
  const std::string probe_text = args.get_or("--probe", "");
  const int64_t pool_percent = args.get_int("--pool-percent", -1, 0, 100);
  const std::string timing_text = args.get_or("--timing", "device");
  const std::string read_text = args.get_or("--read", "stream");
  const std::string timeline_path = args.get_or("--timeline", "");
  const std::string kv_dtype_text = args.get_or("--kv-dtype", "fp16");
  const int64_t kv_group = args.get_int("--kv-group", kDefaultKvGroup, kMinKvGroup, kMaxKvGroup);  // powers of two: below
  std::vector<std::string> errors =
      args.errors({"--backend", "--batch", "--context", "--heads", "--kv-heads", "--d", "--dtype", "--layout", "--page",
                   "--reps", "--steps", "--every", "--check", "--json", "--variant", "--probe", "--pool-percent",
                   "--timing", "--read", "--timeline", "--kv-dtype", "--kv-group"});
  // The experiments' options, each checked here with the forms it accepts.
  if (auto problem = backend_name_problem(backend_name); !problem.empty()) errors.push_back("--backend " + problem);
  DecodeBenchOptions options;
  if (auto v = parse_decode_variant(variant_text)) options.variant = *v;
  else errors.push_back("--variant '" + variant_text + "': choose " + decode_variant_choices());
  if (auto why = parse_decode_probe(probe_text, &options.probe); !why.empty()) errors.push_back("--probe " + why);
  if (pool_percent >= 0) options.pool_percent = static_cast<int>(pool_percent);  // -1: not given (or reported)
  if (auto t = parse_decode_timing(timing_text)) options.timing = *t;
  else errors.push_back("--timing '" + timing_text + "': choose device or launch");
  if (auto why = parse_decode_read(read_text, &options.read); !why.empty()) errors.push_back("--read " + why);
  if (args.has("--timeline") && timeline_path.empty()) errors.push_back("--timeline: give a file name");
  options.timeline_path = timeline_path;
  const auto dtype = parse_dtype(dtype_text);
  if (!dtype) errors.push_back("--dtype '" + dtype_text + "': choose fp16 or bf16");
  const auto kv_dtype = parse_kv_dtype(kv_dtype_text);
  if (!kv_dtype) errors.push_back("--kv-dtype '" + kv_dtype_text + "': choose " + kKvDtypeChoices);
  const bool quantised = kv_dtype && kv_dtype_is_quantised(*kv_dtype);
  if (quantised && dtype && *dtype != DType::F16)
    errors.push_back("--kv-dtype " + kv_dtype_text + " is compared with an fp16 cache: leave --dtype at fp16");
  if (args.has("--kv-group") && kv_dtype && !quantised)
    errors.push_back("--kv-group applies to fp8 and int8 caches (add --kv-dtype fp8 or int8)");
  else if (auto why = kv_group_problem(kv_group); !why.empty()) errors.push_back("--kv-group: " + why);
  for (auto& l : layouts)
    if (l != "contiguous" && l != "paged") errors.push_back("--layout '" + l + "': choose contiguous or paged");
  if (auto why = page_size_problem(page); !why.empty()) errors.push_back("--page: " + why);
  if (steps < 0 || steps > context) errors.push_back("--steps " + std::to_string(steps) + ": must be 0..--context");
  if (kv_list.empty()) errors.push_back("--kv-heads: give at least one count");
  // Every request is validated before anything runs (cache length 0, heads not divisible, ...).
  for (int64_t kv : kv_list) {
    DecodeLoopRequest probe;
    probe.batch = batch;
    probe.q_heads = heads;
    probe.kv_heads = kv;
    probe.head_dim = d;
    probe.context = context;
    probe.page_tokens = page_size_problem(page).empty() ? page : 0;  // a bad page size is reported above
    probe.repetitions = static_cast<int>(reps);  // 1..1000, checked by get_int
    probe.measure_every = every;
    for (auto& e : validate(probe)) errors.push_back(e);
  }
  if (int rc = report_errors(kName, errors)) return rc;
  // K and V bytes per token and layer as the GPU stores the cache, scales included (from the formats when the
  // backend did not report it).
  auto bytes_per_token = [&](const DecodeLoopResult& r, int64_t kv) {
    return r.bytes_per_token_layer > 0 ? r.bytes_per_token_layer
                                       : kv_bytes_per_token_layer(kv, d, *kv_dtype, kv_group);
  };

  std::string why_not;
  std::unique_ptr<Backend> backend = make_backend(backend_name, &why_not);
  if (!backend) {
    std::cerr << "attnscope decode: backend '" << backend_name << "' is not available: " << why_not
              << " (--backend cpu runs the CPU twin)\n";
    return 1;
  }
  std::cout << "backend " << backend->name() << ": " << backend->device_name() << "\n";

  // The shape every row shares; the caller sets prefill, repetitions and what is timed.
  auto shape_request = [&](int64_t kv, const std::string& layout) {
    DecodeLoopRequest req;
    req.batch = batch;
    req.q_heads = heads;
    req.kv_heads = kv;
    req.head_dim = d;
    req.dtype = *dtype;
    req.page_tokens = layout == "paged" ? page : 0;
    req.context = context;
    req.options = options;
    req.kv_dtype = kv_dtype.value_or(KvDtype::F16);
    req.kv_group = kv_group;
    return req;
  };

  std::vector<Row> rows;
  int failures = 0, missed = 0;
  nlohmann::json j_rows = nlohmann::json::array();
  if (steps == 0) {
    std::cout << "decode: B=" << batch << " sequences, L=" << context << " cached tokens, " << heads
              << " query heads, d=" << d << ", "
              << (quantised ? kv_dtype_text + " cache (" + std::to_string(kv_group) + "-token scale groups)"
                            : dtype_text)
              << "; median of " << reps
              << " decodes; GB/s = K and V bytes read from the cache / time; copy = device-to-device cudaMemcpy,\n"
                 "(read + written bytes) / time, measured in the same call; read = a read-only kernel streaming as\n"
                 "many bytes, in the same call; CUDA times each decode's own GPU time with L2 flushed before it\n"
                 "(--timing launch: events on an idle GPU, which adds the host's launch latency)\n\n";
    std::printf("%-5s %4s %-10s %-5s %9s %7s %10s %10s %10s %8s %8s %8s %8s %8s %8s %10s %9s\n", "heads", "KV",
                "cache", "dtype", "B/token", "splits", "cache MB", "time us", "GB/s", "copy", "ratio", "target",
                "paged+", "read", "of read", "max|err|", "rel L2");
    for (int64_t kv : kv_list) {
      double contiguous_ms = 0;
      for (const std::string& layout : layouts) {
        DecodeLoopRequest req = shape_request(kv, layout);
        req.prefill = context - 1;  // the prompt in one bulk fill; then one append -> decode step, timed
        req.repetitions = static_cast<int>(reps);
        req.seed = 20240601 + static_cast<uint64_t>(kv);
        const DecodeLoopResult r = backend->decode_loop(req);
        Row row;
        row.layout = layout_name(heads, kv);
        row.kv_heads = kv;
        row.cache = layout == "paged" ? "paged/" + std::to_string(page) : "contiguous";
        row.ok = r.ok && !r.samples.empty();
        row.error = r.error;
        if (row.ok) {
          row.sample = r.samples.back();
          row.copy_gbs = r.copy_gbs;
          row.read_gbs = r.read_gbs;
          row.ratio = r.copy_gbs > 0 ? row.sample.achieved_gbs / r.copy_gbs : 0;
        }
        const double target = kv == 1 ? 0.70 : 0.85;
        if (!row.ok) {
          ++failures;
          std::printf("%-5s %4lld %-10s  error: %s\n", row.layout.c_str(), static_cast<long long>(kv), row.cache.c_str(),
                      row.error.c_str());
        } else {
          const bool meets = row.copy_gbs > 0 && row.ratio >= target;
          if (row.copy_gbs > 0 && !meets) ++missed;
          char overhead[32] = "";
          if (layout == "contiguous") contiguous_ms = row.sample.decode_ms;
          else if (contiguous_ms > 0)
            std::snprintf(overhead, sizeof overhead, "%+.1f%%", 100.0 * (row.sample.decode_ms / contiguous_ms - 1));
          char ratio[32] = "n/a", copy[32] = "n/a", read[32] = "n/a", of_read[32] = "n/a";
          if (row.copy_gbs > 0) {
            std::snprintf(ratio, sizeof ratio, "%.1f%%%s", 100 * row.ratio, meets ? "" : "!");
            std::snprintf(copy, sizeof copy, "%.0f", row.copy_gbs);
          }
          if (row.read_gbs > 0) {
            std::snprintf(read, sizeof read, "%.0f", row.read_gbs);
            std::snprintf(of_read, sizeof of_read, "%.1f%%", 100 * row.sample.achieved_gbs / row.read_gbs);
          }
          char max_err[32] = "ref", rel_l2[32] = "ref";  // fp16 rows are the reference
          if (r.error_measured) {
            std::snprintf(max_err, sizeof max_err, "%.2e", r.error_max_abs);
            std::snprintf(rel_l2, sizeof rel_l2, "%.2e", r.error_rel_l2);
          }
          std::printf("%-5s %4lld %-10s %-5s %9.1f %7d %10.1f %10.1f %10.0f %8s %8s %7.0f%% %8s %8s %8s %10s %9s\n",
                      row.layout.c_str(), static_cast<long long>(kv), row.cache.c_str(), r.kv_dtype.c_str(),
                      bytes_per_token(r, kv), row.sample.splits, row.sample.kv_bytes_read / 1e6,
                      row.sample.decode_ms * 1e3, row.sample.achieved_gbs, copy, ratio, 100 * target, overhead, read,
                      of_read, max_err, rel_l2);
        }
        j_rows.push_back({{"layout", row.layout}, {"kv_heads", kv}, {"cache", row.cache}, {"ok", row.ok},
                          {"error", row.error}, {"decode_ms", row.sample.decode_ms},
                          {"kv_bytes_read", row.sample.kv_bytes_read}, {"achieved_gbs", row.sample.achieved_gbs},
                          {"copy_gbs", row.copy_gbs}, {"read_gbs", row.read_gbs}, {"ratio", row.ratio},
                          {"target", target},
                          {"splits", row.sample.splits}, {"cache_bytes", row.sample.cache_bytes},
                          {"kv_dtype", r.kv_dtype}, {"bytes_per_token_layer", bytes_per_token(r, kv)},
                          {"error_measured", r.error_measured}, {"error_max_abs", r.error_max_abs},
                          {"error_rel_l2", r.error_rel_l2}});
        rows.push_back(row);
      }
    }
    std::cout << "\nratio = GB/s / copy; '!' marks a ratio under its target; paged+ = paged time / contiguous time - 1;\n"
                 "of read = GB/s / read; B/token = K and V bytes one token adds per layer as the GPU stores them,\n"
                 "scales included (fp8/int8: 2*KV*(d + 4/G)); max|err| and rel L2 = the output against an fp16\n"
                 "cache of the same tokens (max |o - o16| and ||o - o16|| / ||o16||; fp16 rows are the reference)\n";
  } else {
    std::cout << "decode loop: B=" << batch << ", " << heads << " query heads, d=" << d << ", " << dtype_text
              << ", tokens " << context - steps + 1 << ".." << context << " appended one by one, every " << every
              << "th step timed (median of " << reps << ")\n\n";
    std::printf("%-5s %4s %-10s %9s %10s %10s %10s %12s %8s\n", "heads", "KV", "cache", "context", "ms/token",
                "append us", "GB/s", "cache MiB", "pages");
    for (int64_t kv : kv_list)
      for (const std::string& layout : layouts) {
        DecodeLoopRequest req = shape_request(kv, layout);
        req.prefill = context - steps;
        req.measure_every = every;
        req.repetitions = static_cast<int>(reps);
        const DecodeLoopResult r = backend->decode_loop(req);
        const std::string cache = layout == "paged" ? "paged/" + std::to_string(page) : "contiguous";
        if (!r.ok) {
          ++failures;
          std::printf("%-5s %4lld %-10s  error: %s\n", layout_name(heads, kv).c_str(), static_cast<long long>(kv),
                      cache.c_str(), r.error.c_str());
          continue;
        }
        for (const auto& s : r.samples) {
          std::printf("%-5s %4lld %-10s %9lld %10.4f %10.1f %10.0f %12.1f %8lld\n", layout_name(heads, kv).c_str(),
                      static_cast<long long>(kv), cache.c_str(), static_cast<long long>(s.context), s.decode_ms,
                      s.append_ms * 1e3, s.achieved_gbs, static_cast<double>(s.cache_bytes) / (1 << 20),
                      static_cast<long long>(s.pages_in_use));
          j_rows.push_back({{"layout", layout_name(heads, kv)}, {"kv_heads", kv}, {"cache", cache},
                            {"context", s.context}, {"decode_ms", s.decode_ms}, {"append_ms", s.append_ms},
                            {"achieved_gbs", s.achieved_gbs}, {"cache_bytes", s.cache_bytes},
                            {"pages", s.pages_in_use}, {"kv_dtype", r.kv_dtype}});
        }
        if (r.error_measured)
          std::printf("%-5s %4lld %-10s %s cache at context %lld against an fp16 cache of the same tokens: max|err| "
                      "%.2e, rel L2 %.2e; %.1f B/token/layer\n",
                      layout_name(heads, kv).c_str(), static_cast<long long>(kv), cache.c_str(), r.kv_dtype.c_str(),
                      static_cast<long long>(context), r.error_max_abs, r.error_rel_l2, bytes_per_token(r, kv));
      }
  }
  if (!json_path.empty()) {
    std::ofstream file(json_path);
    file << nlohmann::json{{"backend", backend->name()}, {"device", backend->device_name()}, {"batch", batch},
                           {"context", context}, {"heads", heads}, {"d", d}, {"dtype", dtype_text},
                           {"kv_dtype", kv_dtype_text}, {"kv_group", kv_group}, {"rows", j_rows}}
                .dump(2)
         << "\n";
    if (!file) {
      std::cerr << "attnscope decode: cannot write --json file '" << json_path << "'\n";
      return 1;
    }
  }
  if (failures > 0) return 1;
  if (args.has("--check") && missed > 0) return 1;
  return 0;
}

}  // namespace

const Command kDecodeCommand{"decode", "decode benchmark and loop: KV-cache bandwidth for MHA / GQA / MQA", kHelp,
                             run_decode};

}  // namespace attnscope::app
