// cmd_ring.cpp — `attnscope ring`: ring attention (context parallelism) on W simulated ranks on the CPU — the
// schedule's per-rank work, the load imbalance, the modelled timeline and the merged output's error against the
// single-rank reference (core/ring_attention.hpp).
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "app/cli/args.hpp"
#include "app/cli/commands.hpp"
#include "core/ring_attention.hpp"

namespace attnscope::app {
namespace {

constexpr const char* kHelp =
    "attnscope ring — ring attention (context parallelism) on W simulated ranks, on the CPU.\n"
    "The sequence is split across ranks; at each of W steps every rank attends its queries to the K/V shard it\n"
    "holds, then passes the shard one hop round the ring; partial outputs merge by the log-sum-exp rule.\n\n"
    "usage: attnscope ring --ranks W [--n N] [--heads H] [--kv-heads Hk] [--d D] [--batch B]\n"
    "                      [--schedule plain|zigzag|both] [--causal] [--link-gbs X] [--seed S]\n\n"
    "  --ranks W        simulated ranks, 1..64 (at most N)                              (default 4)\n"
    "  --n N            sequence length, 1..16384                                        (default 2048)\n"
    "  --heads H        query heads                                                      (default 4)\n"
    "  --kv-heads Hk    K/V heads (GQA: H a multiple of Hk)                              (default H)\n"
    "  --d D            head dimension, 1..256                                           (default 64)\n"
    "  --batch B        sequences                                                        (default 1)\n"
    "  --schedule S     plain: rank r holds chunk r of W; zigzag: chunks r and 2W-1-r of 2W; both (default both)\n"
    "  --causal         causal mask (key <= query): where zigzag's balance matters\n"
    "  --link-gbs X     modelled link bandwidth per direction in GB/s (1e9 bytes/s)    (default 450, NVLink 4)\n"
    "  --seed S         input seed                                                       (default 1)\n\n"
    "Prints per schedule: the work (allowed query-key pairs) of every rank at every step, the imbalance\n"
    "(sum over steps of the slowest rank's work / of the mean work), the timeline of the simulated ranks\n"
    "(compute measured on this CPU, transfers modelled as shard bytes / link bandwidth), the share of transfer\n"
    "time hidden behind compute, and max |error| of the merged output against the single-rank reference.\n\n"
    "Exit status: 0 success, 1 the run failed, 2 usage error (bad flag or value).";

std::string fixed(double v, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

std::string right(const std::string& s, size_t width) {
  return std::string(s.size() < width ? width - s.size() : 0, ' ') + s;
}

std::string chunk_rule(const RingPlan& plan) {
  const int64_t smallest = plan.n / plan.chunk_count();
  const bool even = plan.n % plan.chunk_count() == 0;
  std::string size = even ? std::to_string(smallest) + " tokens"
                          : std::to_string(smallest) + " or " + std::to_string(smallest + 1) + " tokens";
  if (plan.schedule == RingSchedule::Zigzag)
    return std::to_string(plan.chunk_count()) + " chunks of " + size + "; rank r holds chunks r and " +
           std::to_string(plan.chunk_count() - 1) + "-r";
  return std::to_string(plan.chunk_count()) + " shards of " + size + "; rank r holds shard r";
}

void print_run(const RingRun& run, const AttentionSpec& spec, double error) {
  const RingPlan& plan = run.plan;
  const int W = plan.ranks;
  std::cout << "schedule " << ring_schedule_name(plan.schedule) << ": " << chunk_rule(plan) << "\n";
  std::cout << "  work = allowed query-key pairs per (batch, head), rank r at step s (K/V shard of rank (r - s) mod W)\n";
  const bool per_step = W <= 8;
  std::cout << "  " << right("rank", 4) << right("tokens", 8);
  if (per_step)
    for (int s = 0; s < W; ++s) std::cout << right("step " + std::to_string(s), 11);
  else
    std::cout << right("max step", 11);
  std::cout << right("total", 12) << "\n";
  for (int r = 0; r < W; ++r) {
    std::cout << "  " << right(std::to_string(r), 4) << right(std::to_string(plan.tokens_of(r)), 8);
    int64_t most = 0;
    for (int s = 0; s < W; ++s) {
      if (per_step) std::cout << right(std::to_string(plan.work_at(r, s)), 11);
      most = std::max(most, plan.work_at(r, s));
    }
    if (!per_step) std::cout << right(std::to_string(most), 11);
    std::cout << right(std::to_string(plan.rank_work(r)), 12) << "\n";
  }
  std::cout << "  imbalance (sum over steps of max work / of mean work): " << fixed(plan.imbalance(), 3) << "\n";
  const RingTimeline& t = run.timeline;
  std::cout << "  timeline, simulated ranks (compute measured on this CPU; transfers modelled: "
            << format_bytes(static_cast<double>(ring_shard_bytes(plan, spec, 0))) << " shard of rank 0 at "
            << fixed(t.link_gbs, 0) << " GB/s):\n";
  std::cout << "  " << right("rank", 4) << right("compute ms", 12) << right("transfer ms", 13)
            << right("exposed ms", 12) << right("idle ms", 10) << "\n";
  for (int r = 0; r < W; ++r) {
    const RingRankTimes& rt = t.ranks[static_cast<size_t>(r)];
    double exposed = 0;
    for (const RingStepTimes& st : rt.steps) exposed += st.exposed_transfer_ms;
    std::cout << "  " << right(std::to_string(r), 4) << right(fixed(rt.compute_ms, 3), 12)
              << right(fixed(rt.transfer_ms, 3), 13) << right(fixed(exposed, 3), 12)
              << right(fixed(rt.idle_ms(), 3), 10) << "\n";
  }
  std::cout << "  makespan " << fixed(t.makespan_ms, 3) << " ms; transfer " << fixed(t.transfer_ms, 3)
            << " ms in all, " << fixed(100.0 * t.overlap_share(), 1) << "% hidden behind compute\n";
  char error_text[32];
  std::snprintf(error_text, sizeof error_text, "%.3g", error);
  std::cout << "  max |error| of the merged output vs the single-rank reference: " << error_text << "\n\n";
}

int run_ring(const std::vector<std::string>& argv) {
  Args args(argv, {"--causal"});
  const int64_t ranks = args.get_int("--ranks", 4, 1, kRingMaxRanks);
  const int64_t n = args.get_int("--n", 2048, 1, 16384);
  const int64_t heads = args.get_int("--heads", 4, 1, 256);
  const int64_t kv_heads = args.get_int("--kv-heads", heads, 1, 256);
  const int64_t d = args.get_int("--d", 64, 1, 256);
  const int64_t batch = args.get_int("--batch", 1, 1, 64);
  const double link_gbs = args.get_real("--link-gbs", kRingDefaultLinkGBs, 1e-3, 1e6);
  const int64_t seed = args.get_int("--seed", 1, 0, Args::kIntMax);
  const std::string schedule_text = args.get_or("--schedule", "both");
  std::vector<std::string> errors = args.errors({"--ranks", "--n", "--heads", "--kv-heads", "--d", "--batch",
                                                 "--schedule", "--causal", "--link-gbs", "--seed"});
  std::vector<RingSchedule> schedules;
  if (schedule_text == "both") schedules = {RingSchedule::Plain, RingSchedule::Zigzag};
  else if (auto s = parse_ring_schedule(schedule_text)) schedules = {*s};
  else errors.push_back("--schedule '" + schedule_text + "': choose plain, zigzag or both");
  // Only when --ranks itself was valid (a refused value already has its message; the fallback is not what was typed).
  const auto ranks_text = args.get("--ranks");
  const bool ranks_valid = !ranks_text || parse_integer(*ranks_text, 1, kRingMaxRanks, nullptr).has_value();
  if (ranks_valid && ranks > n)
    errors.push_back("--ranks " + std::to_string(ranks) + " is more than --n " + std::to_string(n) +
                     " tokens: every rank needs at least one token");
  if (heads % kv_heads != 0)
    errors.push_back("--heads " + std::to_string(heads) + " is not a multiple of --kv-heads " +
                     std::to_string(kv_heads));
  if (int rc = report_errors("ring", errors)) return rc;

  AttentionSpec spec;
  spec.batch = batch;
  spec.q_heads = heads;
  spec.kv_heads = kv_heads;
  spec.q_len = spec.kv_len = n;
  spec.head_dim = d;
  spec.mask.causal = args.has("--causal");
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, static_cast<uint64_t>(seed));
  ThreadPool pool(0);
  std::cout << "ring attention on " << ranks << " simulated ranks (CPU twin, " << pool.size() << " threads per rank)\n"
            << spec.summary() << "\n\n";
  const ReferenceOutput reference = reference_attention(in);
  RingOptions options;
  options.link_gbs = link_gbs;
  for (RingSchedule schedule : schedules) {
    const RingRun run = run_ring_attention(in, static_cast<int>(ranks), schedule, options, pool);
    if (!run.ok) {
      std::cerr << "attnscope ring: " << run.error << "\n";
      return 1;
    }
    print_run(run, spec, ring_max_abs_error(run.output, reference.output));
  }
  return 0;
}

}  // namespace

const Command kRingCommand{"ring", "ring attention (context parallelism) on simulated ranks: schedule, timeline, error",
                           kHelp, run_ring};

}  // namespace attnscope::app
