// bench_beyond.cpp — see bench_beyond.hpp.
#include "app/cli/bench_beyond.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <new>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "app/cli/args.hpp"
#include "app/cli/backends.hpp"
#include "core/atomic_file.hpp"
#include "core/backend.hpp"
#include "core/beyond_runs.hpp"
#include "core/cpu_twins.hpp"
#include "core/reference.hpp"
#include "core/selective_scan.hpp"

namespace attnscope::app {
namespace {

constexpr const char* kLinearName = "linear-attention";
constexpr const char* kScanName = "selective-scan";
// The targets of issue 20's "Speed" section.
constexpr double kScanCopyTarget = 0.70;       // scan bandwidth / copy bandwidth at the longest N
constexpr int64_t kLinearTargetN = 16384;       // linear attention faster than flash here

// One side of a row: a timed run or why it did not run.
struct Measured {
  bool ok = false;
  std::string error;
  Timing timing;
  double flops = 0, bytes = 0;
  std::string kernel;
};

struct BeyondRow {
  std::string algo;
  int64_t n = 0;
  Measured run;
  double copy_fraction = 0;       // scan: (bytes / median time) / copy bandwidth; 0 when not known
  bool has_baseline = false;      // linear attention with a baseline asked for
  std::string baseline_algo;
  Measured baseline;
  double speedup = 0;             // baseline median / linear median, when both ran
};

struct BeyondConfig {
  std::vector<int64_t> ns;
  int64_t batch = 8, heads = 32, kv_heads = 32, d = 128;
  DType dtype = DType::F16;
  bool causal = true;
  int64_t channels = 4096, state = 16;
  std::optional<int64_t> chunk;  // unset: each kernel's default (linear 64 keys, scan 256 steps)
  int warmup = 1, reps = 5;
  std::string baseline = "auto";  // auto, flash, flash-tc, none
};

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::string oom_words(const std::string& what, double needed) {
  return "out of memory: " + what + " needs " + format_bytes(needed) + " of host memory, " +
         format_bytes(static_cast<double>(available_memory_bytes())) + " available";
}

// Host memory the inputs (and a downloaded output) take, checked before allocating: past what the OS has
// available the row says so instead of the process being killed while it fills the arrays.
bool host_memory_short(double needed) {
  const uint64_t available = available_memory_bytes();
  return available > 0 && needed > static_cast<double>(available);
}

AttentionSpec linear_spec(const BeyondConfig& c, int64_t n) {
  AttentionSpec spec;
  spec.batch = c.batch;
  spec.q_heads = c.heads;
  spec.kv_heads = c.kv_heads;
  spec.q_len = spec.kv_len = n;
  spec.head_dim = c.d;
  spec.dtype = c.dtype;
  spec.mask.causal = c.causal;
  return spec;
}

Measured from_sequence(const SequenceRunResult& r) {
  Measured m;
  if (!r.ok) {
    m.error = r.out_of_memory && r.error.find("out of") == std::string::npos ? "out of memory: " + r.error : r.error;
    return m;
  }
  m.ok = true;
  m.timing = r.timing;
  m.flops = r.flops;
  m.bytes = r.bytes_moved;
  m.kernel = r.kernel;
  return m;
}

Measured time_baseline(Backend& backend, Algorithm algo, const AttentionInputs& in, const BeyondConfig& c) {
  Measured m;
  std::string why;
  if (auto problems = validate(in.spec, backend.limits(), materialises_scores(algo)); !problems.empty()) {
    m.error = problems.front();
    return m;
  }
  if (!backend.supports(algo, in.spec, &why)) {
    m.error = std::string(algorithm_name(algo)) + " not supported on " + backend.name() + ": " + why;
    return m;
  }
  RunRequest req;
  req.algorithm = algo;
  req.inputs = &in;
  req.warmup = c.warmup;
  req.repetitions = c.reps;
  req.want_output = false;
  const RunResult r = backend.run(req);
  if (!r.ok) {
    m.error = r.out_of_memory ? "out of memory: needs " + format_bytes(static_cast<double>(r.bytes_needed)) + ", " +
                                    format_bytes(static_cast<double>(r.bytes_free)) + " free — " + r.error
                              : r.error;
    return m;
  }
  m.ok = true;
  m.timing = r.timing;
  m.flops = r.flops;
  m.bytes = r.bytes_moved;
  m.kernel = r.kernel;
  return m;
}

BeyondRow run_linear_row(Backend& backend, const BeyondConfig& c, int64_t n, std::optional<Algorithm> baseline) {
  BeyondRow row;
  row.algo = kLinearName;
  row.n = n;
  row.has_baseline = baseline.has_value();
  if (baseline) row.baseline_algo = algorithm_name(*baseline);
  const AttentionSpec spec = linear_spec(c, n);
  if (auto problems = validate(spec, backend.limits(), false); !problems.empty()) {
    row.run.error = problems.front();
    return row;
  }
  // Q, K, V and O as floats on the host.
  const double host_bytes = 4.0 * (2.0 * static_cast<double>(spec.q_elements()) + 2.0 * static_cast<double>(spec.kv_elements()));
  if (host_memory_short(host_bytes)) {
    row.run.error = oom_words("the inputs of " + spec.summary(), host_bytes);
    return row;
  }
  try {
    const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 2020 + static_cast<uint64_t>(n));
    LinearAttentionRunRequest req;
    req.inputs = &in;
    req.chunk = c.chunk.value_or(64);
    req.warmup = c.warmup;
    req.repetitions = c.reps;
    req.want_output = false;
    row.run = from_sequence(backend.run_linear_attention(req));
    if (baseline) row.baseline = time_baseline(backend, *baseline, in, c);
  } catch (const std::bad_alloc&) {
    row.run.error = oom_words("the inputs of " + spec.summary(), host_bytes);
  } catch (const std::length_error&) {
    row.run.error = oom_words("the inputs of " + spec.summary(), host_bytes);
  }
  if (row.run.ok && row.baseline.ok) row.speedup = row.baseline.timing.median_ms / row.run.timing.median_ms;
  return row;
}

BeyondRow run_scan_row(Backend& backend, const BeyondConfig& c, int64_t n, double copy_bytes_per_s) {
  BeyondRow row;
  row.algo = kScanName;
  row.n = n;
  const ScanShape shape{c.batch, n, c.channels, c.state};
  // x, Δ, B, C read and y written, fp32: the bytes the scan moves are the bytes the host holds for it.
  const double host_bytes = selective_scan_bytes(shape);
  const std::string what = "the scan of B=" + std::to_string(c.batch) + " N=" + std::to_string(n) +
                           " D=" + std::to_string(c.channels) + " Nst=" + std::to_string(c.state);
  if (host_memory_short(host_bytes)) {
    row.run.error = oom_words(what, host_bytes);
    return row;
  }
  try {
    const ScanInputs in = generate_scan_inputs(shape, 3030 + static_cast<uint64_t>(n));
    SelectiveScanRunRequest req;
    req.inputs = &in;
    req.chunk = c.chunk.value_or(256);
    req.warmup = c.warmup;
    req.repetitions = c.reps;
    req.want_output = false;
    row.run = from_sequence(backend.run_selective_scan(req));
  } catch (const std::bad_alloc&) {
    row.run.error = oom_words(what, host_bytes);
  } catch (const std::length_error&) {
    row.run.error = oom_words(what, host_bytes);
  }
  if (row.run.ok && copy_bytes_per_s > 0)
    row.copy_fraction = row.run.bytes / (row.run.timing.median_ms * 1e-3) / copy_bytes_per_s;
  return row;
}

void print_header() {
  std::printf("%-17s %7s %10s %21s %9s %8s %9s %-9s %11s %9s\n", "algorithm", "N", "median ms", "min..max ms",
              "GB/s", "of copy", "TFLOP/s", "baseline", "base ms", "speed-up");
}

void print_row(const BeyondRow& row) {
  if (!row.run.ok) {
    std::printf("%-17s %7lld  %s\n", row.algo.c_str(), static_cast<long long>(row.n), row.run.error.c_str());
    std::fflush(stdout);
    return;
  }
  const Timing& t = row.run.timing;
  const double s = t.median_ms * 1e-3;
  const std::string gbs = row.run.bytes > 0 ? fixed(row.run.bytes / s * 1e-9, 1) : "-";
  const std::string tflops = row.run.flops > 0 ? fixed(row.run.flops / s * 1e-12, 3) : "-";
  const std::string copy = row.copy_fraction > 0 ? percent_toward_zero(row.copy_fraction) : "-";
  const std::string span = fixed(t.min_ms, 3) + ".." + fixed(t.max_ms, 3);
  std::string base = "-", base_ms = "-", speedup = "-";
  if (row.has_baseline) {
    base = row.baseline_algo;
    base_ms = row.baseline.ok ? fixed(row.baseline.timing.median_ms, 3) : "failed";
    speedup = row.speedup > 0 ? fixed(row.speedup, 2) + "x" : "-";
  }
  std::printf("%-17s %7lld %10.3f %21s %9s %8s %9s %-9s %11s %9s\n", row.algo.c_str(), static_cast<long long>(row.n),
              t.median_ms, span.c_str(), gbs.c_str(), copy.c_str(), tflops.c_str(), base.c_str(), base_ms.c_str(),
              speedup.c_str());
  if (row.has_baseline && !row.baseline.ok)
    std::printf("%-17s %7s  %s: %s\n", "", "", row.baseline_algo.c_str(), row.baseline.error.c_str());
  std::fflush(stdout);
}

nlohmann::json measured_json(const Measured& m) {
  nlohmann::json j = {{"ok", m.ok}};
  if (!m.ok) {
    j["error"] = m.error;
    return j;
  }
  const double s = m.timing.median_ms * 1e-3;
  j["median_ms"] = m.timing.median_ms;
  j["min_ms"] = m.timing.min_ms;
  j["max_ms"] = m.timing.max_ms;
  j["samples_ms"] = m.timing.samples_ms;
  j["flops"] = m.flops;
  j["bytes_moved"] = m.bytes;
  j["gb_per_s"] = m.bytes / s * 1e-9;
  j["tflop_per_s"] = m.flops / s * 1e-12;
  if (!m.kernel.empty()) j["kernel"] = m.kernel;
  return j;
}

struct Verdict {
  std::string status = "not measured";  // "met", "missed", "not measured"
  std::string line;                     // the summary line
  nlohmann::json json;
};

// The scan target at the longest N whose row ran.
Verdict scan_verdict(const std::vector<BeyondRow>& rows, const DeviceCeilings& ceilings) {
  Verdict v;
  const BeyondRow* longest = nullptr;
  for (const BeyondRow& r : rows)
    if (r.algo == kScanName && r.run.ok && (!longest || r.n > longest->n)) longest = &r;
  v.json = {{"target", "selective scan bytes / time >= 70% of the copy bandwidth at the longest N"},
            {"target_fraction", kScanCopyTarget}};
  if (!longest) {
    v.line = "selective scan: target >= 70% of copy not measured (no scan row ran)";
  } else if (!(ceilings.ok && ceilings.copy_bytes_per_s > 0)) {
    v.line = "selective scan at N=" + std::to_string(longest->n) +
             ": target >= 70% of copy not measured (copy bandwidth unknown: " + ceilings.error + ")";
    v.json["n"] = longest->n;
  } else {
    v.status = longest->copy_fraction >= kScanCopyTarget ? "met" : "missed";
    v.line = "selective scan at N=" + std::to_string(longest->n) + ": " + percent_toward_zero(longest->copy_fraction) +
             " of copy (target >= 70%): " + v.status;
    v.json["n"] = longest->n;
    v.json["copy_fraction"] = longest->copy_fraction;
  }
  v.json["verdict"] = v.status;
  return v;
}

// The linear-attention target at N = 16384, and the crossover over every N where both sides ran.
Verdict linear_verdict(const std::vector<BeyondRow>& rows, const Crossover& crossover) {
  Verdict v;
  v.json = {{"target", "chunked causal linear attention faster than the flash baseline at N = 16384"},
            {"target_n", kLinearTargetN}};
  const BeyondRow* at = nullptr;
  for (const BeyondRow& r : rows)
    if (r.algo == kLinearName && r.n == kLinearTargetN) at = &r;
  const std::string crossing = "; crossover " + crossover.words();
  if (!at) {
    v.line = "linear attention: target (faster than flash at N=16384) not measured: N=16384 not in --n" + crossing;
  } else if (!at->has_baseline) {
    v.line = "linear attention at N=16384: target not measured (--baseline none)";
  } else if (!(at->run.ok && at->baseline.ok)) {
    v.line = "linear attention at N=16384: target not measured (" +
             (at->run.ok ? at->baseline_algo + ": " + at->baseline.error : at->run.error) + ")" + crossing;
  } else {
    v.status = at->run.timing.median_ms < at->baseline.timing.median_ms ? "met" : "missed";
    v.line = "linear attention at N=16384: " + fixed(at->run.timing.median_ms, 3) + " ms vs " + at->baseline_algo +
             " " + fixed(at->baseline.timing.median_ms, 3) + " ms, " + fixed(at->speedup, 2) +
             "x (target: faster): " + v.status + crossing;
    v.json["linear_ms"] = at->run.timing.median_ms;
    v.json["baseline_ms"] = at->baseline.timing.median_ms;
    v.json["speedup"] = at->speedup;
  }
  v.json["verdict"] = v.status;
  return v;
}

const char* crossover_kind_name(Crossover::Kind k) {
  switch (k) {
    case Crossover::Kind::Between: return "between";
    case Crossover::Kind::Exact: return "exact";
    case Crossover::Kind::BelowRange: return "below_range";
    case Crossover::Kind::NoneInRange: break;
  }
  return "none_in_range";
}

}  // namespace

bool is_beyond_bench_algorithm(const std::string& name) { return name == kLinearName || name == kScanName; }

int run_beyond_bench(const std::vector<std::string>& argv) {
  Args args(argv, {"--causal", "--heatmap", "--backward"});
  std::vector<std::string> errors;
  const std::vector<std::string> algo_names = args.get_list("--algo");
  bool linear = false, scan = false;
  std::vector<std::string> attention_algos;
  for (const std::string& name : algo_names) {
    if (name == kLinearName) linear = true;
    else if (name == kScanName) scan = true;
    else attention_algos.push_back(name);
  }
  if (!attention_algos.empty()) {
    std::string list;
    for (const auto& a : attention_algos) list += (list.empty() ? "" : ", ") + a;
    errors.push_back("--algo: linear-attention and selective-scan cannot be mixed with attention algorithms (" + list +
                     ") in one call; run them in separate calls");
  }
  // The attention bench's flags that mean nothing to these kernels: an error, not silently ignored.
  for (const char* flag : {"--mask", "--br", "--bc", "--heatmap", "--backward", "--trace", "--probe-rows",
                           "--flash-tc-path", "--visit-split"})
    if (args.get(flag) || args.has(flag))
      errors.push_back(std::string(flag) + " applies to the attention algorithms, not to linear-attention or "
                       "selective-scan");
  BeyondConfig c;
  const std::string backend_name = args.get_or("--backend", "cpu");
  c.ns = args.get_int_list("--n", {1024, 2048, 4096, 8192, 16384}, 1, int64_t{1} << 24);
  c.batch = args.get_int("--batch", 8, 1, 4096);
  c.heads = args.get_int("--heads", 32, 1, 4096);
  c.kv_heads = args.get_int("--kv-heads", c.heads, 1, 4096);
  c.d = args.get_int("--d", 128, 1, 1024);
  c.channels = args.get_int("--channels", 4096, 1, 65536);
  c.state = args.get_int("--state", 16, 1, 256);
  if (args.get("--chunk")) c.chunk = args.get_int("--chunk", 0, 1, 65536);
  c.reps = static_cast<int>(args.get_int("--reps", 5, 1, 1000));
  c.warmup = static_cast<int>(args.get_int("--warmup", 1, 0, 100));
  c.causal = args.boolean("--causal").value_or(true);
  c.baseline = args.get_or("--baseline", "auto");
  const std::string dtype_text = args.get_or("--dtype", "fp16");
  const std::string json_path = args.get_or("--json", "");
  for (const std::string& e :
       args.errors({"--backend", "--algo", "--n", "--batch", "--heads", "--kv-heads", "--d", "--dtype", "--causal",
                    "--reps", "--warmup", "--json", "--channels", "--state", "--chunk", "--baseline", "--mask", "--br",
                    "--bc", "--heatmap", "--backward", "--trace", "--probe-rows", "--flash-tc-path",
                    "--visit-split"}))
    errors.push_back(e);
  if (auto problem = backend_name_problem(backend_name); !problem.empty()) errors.push_back("--backend " + problem);
  const auto dtype = parse_dtype(dtype_text);
  if (!dtype) errors.push_back("--dtype '" + dtype_text + "': choose fp32, fp16 or bf16");
  else c.dtype = *dtype;
  if (scan && !linear && args.get("--dtype") && dtype && *dtype != DType::F32)
    errors.push_back("--dtype " + dtype_text + ": the selective scan stores fp32 (its kernels take no other "
                     "dtype); --dtype sets linear attention's storage");
  if (c.heads % c.kv_heads != 0)
    errors.push_back("--heads " + std::to_string(c.heads) + " must be a multiple of --kv-heads " +
                     std::to_string(c.kv_heads));
  if (c.baseline != "auto" && c.baseline != "none" && c.baseline != "flash" && c.baseline != "flash-tc")
    errors.push_back("--baseline '" + c.baseline + "': choose auto (flash-tc where the backend has tensor cores, "
                     "else flash), flash, flash-tc or none");
  if (int rc = report_errors("bench", errors)) return rc;

  std::string why_not;
  std::unique_ptr<Backend> backend = make_backend(backend_name, &why_not);
  if (!backend) {
    std::cerr << "attnscope bench: backend '" << backend_name << "' is not available: " << why_not << "\n";
    return 1;
  }
  std::optional<Algorithm> baseline;
  if (linear && c.baseline != "none")
    baseline = c.baseline == "flash"      ? Algorithm::Flash
               : c.baseline == "flash-tc" ? Algorithm::FlashTensorCore
               : backend->capabilities().tensor_cores ? Algorithm::FlashTensorCore
                                                     : Algorithm::Flash;

  std::cout << "backend " << backend->name() << ": " << backend->device_name() << "\n";
  if (linear)
    std::cout << "linear attention (phi = elu + 1): B=" << c.batch << " H=" << c.heads << "/" << c.kv_heads
              << " d=" << c.d << " " << dtype_name(c.dtype) << (c.causal ? " causal" : " non-causal")
              << (c.causal ? ", chunks of " + std::to_string(c.chunk.value_or(64)) + " keys" : std::string())
              << "; baseline " << (baseline ? algorithm_name(*baseline) : "none") << " on the same shape\n";
  // The copy bandwidth the scan's ratio divides by: measured once, here, in this run.
  DeviceCeilings ceilings;
  if (scan) {
    std::cout << "selective scan (S6): B=" << c.batch << " D=" << c.channels << " Nst=" << c.state
              << " fp32, chunks of " << c.chunk.value_or(256) << " steps\n";
    ceilings = backend->measure_ceilings();
    if (ceilings.ok)
      std::cout << "copy bandwidth (measured now, " << format_bytes(static_cast<double>(ceilings.copy_bytes))
                << " buffer, read + written): " << fixed(ceilings.copy_bytes_per_s * 1e-9, 1) << " GB/s\n";
    else
      std::cout << "copy bandwidth: not measured (" << ceilings.error << "); the scan's ratio to copy is unknown\n";
  }
  std::cout << c.warmup << " warm-up + " << c.reps
            << " timed runs each; GB/s and TFLOP/s by beyond_runs.hpp's bytes and FLOPs"
            << (baseline ? "; speed-up = baseline / linear" : "") << "\n\n";
  print_header();

  std::vector<BeyondRow> rows;
  for (int64_t n : c.ns) {
    if (linear) rows.push_back(run_linear_row(*backend, c, n, baseline)), print_row(rows.back());
    if (scan)
      rows.push_back(run_scan_row(*backend, c, n, ceilings.ok ? ceilings.copy_bytes_per_s : 0)),
          print_row(rows.back());
  }

  std::vector<CrossoverPoint> points;
  for (const BeyondRow& r : rows)
    if (r.algo == kLinearName && r.run.ok && r.baseline.ok)
      points.push_back({r.n, r.run.timing.median_ms, r.baseline.timing.median_ms});
  const Crossover crossover = find_crossover(points);
  std::vector<Verdict> verdicts;
  if (scan) verdicts.push_back(scan_verdict(rows, ceilings));
  if (linear) verdicts.push_back(linear_verdict(rows, crossover));
  std::cout << "\n";
  if (linear && baseline) std::cout << "crossover (linear becomes faster than " << algorithm_name(*baseline)
                                    << ", interpolated on log N): " << crossover.words() << "\n";
  for (const Verdict& v : verdicts) std::cout << v.line << "\n";

  int failures = 0;
  for (const BeyondRow& r : rows) failures += !r.run.ok || (r.has_baseline && !r.baseline.ok);

  if (!json_path.empty()) {
    nlohmann::json j;
    j["backend"] = backend->name();
    j["device"] = backend->device_name();
    j["config"] = {{"batch", c.batch}, {"heads", c.heads}, {"kv_heads", c.kv_heads}, {"d", c.d},
                   {"dtype", dtype_name(c.dtype)}, {"causal", c.causal}, {"channels", c.channels},
                   {"state", c.state}, {"reps", c.reps}, {"warmup", c.warmup},
                   {"linear_chunk", c.chunk.value_or(64)}, {"scan_chunk", c.chunk.value_or(256)},
                   {"baseline", baseline ? algorithm_name(*baseline) : "none"}};
    if (scan) {
      j["copy"] = {{"ok", ceilings.ok}};
      if (ceilings.ok) {
        j["copy"]["bytes_per_s"] = ceilings.copy_bytes_per_s;
        j["copy"]["buffer_bytes"] = ceilings.copy_bytes;
      } else {
        j["copy"]["error"] = ceilings.error;
      }
    }
    j["rows"] = nlohmann::json::array();
    for (const BeyondRow& r : rows) {
      nlohmann::json row = measured_json(r.run);
      row["algorithm"] = r.algo;
      row["n"] = r.n;
      if (r.algo == kScanName && r.copy_fraction > 0) row["copy_fraction"] = r.copy_fraction;
      if (r.has_baseline) {
        row["baseline"] = measured_json(r.baseline);
        row["baseline"]["algorithm"] = r.baseline_algo;
        if (r.speedup > 0) row["speedup"] = r.speedup;
      }
      j["rows"].push_back(row);
    }
    j["targets"] = nlohmann::json::object();
    if (scan) j["targets"]["selective_scan"] = verdicts.front().json;
    if (linear) {
      nlohmann::json t = verdicts.back().json;
      t["crossover"] = {{"kind", crossover_kind_name(crossover.kind)}, {"words", crossover.words()}};
      if (crossover.kind != Crossover::Kind::NoneInRange) t["crossover"]["n"] = crossover.n;
      j["targets"]["linear_attention"] = t;
    }
    // Temporary file renamed into place (as bench's attention rows); a failed write names the path.
    if (const FileWriteResult written = write_file_atomically(json_path, j.dump(2) + "\n"); !written.ok) {
      std::cerr << "attnscope bench: " << written.error << "\n";
      return 1;
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace attnscope::app
