// cuda_like_backend.hpp — a test backend that answers supports() as kernels/cuda_backend.cu does and runs the CPU
// twins, so the views' flash-tc paths are tested on machines without a GPU (model and display tests share it).
#pragma once
#include <memory>
#include <string>

#include "core/backend.hpp"
#include "core/cpu_backend.hpp"
#include "core/reference.hpp"
#include "core/visit_schedule.hpp"

namespace attnscope::test {

// Answers supports() as kernels/cuda_backend.cu does; runs the CPU twins (flash-tc: the CPU flash twin, timed).
class CudaLikeBackend : public Backend {
 public:
  CudaLikeBackend() : cpu_(make_cpu_backend(2)) {}
  std::string name() const override { return "cuda-like"; }
  std::string device_name() const override { return "CPU twins answering as CUDA"; }
  BackendCapabilities capabilities() const override {
    BackendCapabilities c;  // a GPU's memory and time cap; its traces come from the CPU twins (per worker)
    c.memory = BackendCapabilities::Memory::Device;
    c.host_cpu = false;
    c.tensor_cores = true;
    c.sweep_time_cap_s = 5.0;
    return c;
  }
  bool supports(Algorithm algorithm, const AttentionSpec& spec, std::string* why_not) const override {
    auto no = [&](std::string why) {
      if (why_not) *why_not = std::move(why);
      return false;
    };
    switch (algorithm) {
      case Algorithm::Naive: return true;
      case Algorithm::Flash:
      case Algorithm::BlockSparse:
        if (spec.dtype != DType::F32) return no(std::string(algorithm_name(algorithm)) + " is the fp32 teaching kernel");
        return true;
      case Algorithm::Flash1:  // kernels/flash1/: any storage dtype
        if (spec.head_dim > 128) return no("flash1 (CUDA) supports head dim up to 128");
        return true;
      case Algorithm::FlashTensorCore:
        if (spec.dtype == DType::F32) return no("flash-tc runs fp16 or bf16");
        if (spec.head_dim != 64 && spec.head_dim != 128) return no("flash-tc is built for head dim 64 and 128");
        return true;
      default: return no(std::string(algorithm_name(algorithm)) + " has no CUDA kernel yet");
    }
  }
  RunResult run(const RunRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      ran_at[request.algorithm] = request.inputs->spec.dtype;
    }
    std::string why;
    if (!supports(request.algorithm, request.inputs->spec, &why)) {
      RunResult r;
      r.error = why;
      return r;
    }
    if (request.algorithm != Algorithm::FlashTensorCore) return cpu_->run(request);
    RunRequest twin = request;
    twin.algorithm = Algorithm::Flash;
    twin.record_trace = false;
    RunResult r = cpu_->run(twin);
    r.algorithm = Algorithm::FlashTensorCore;
    const AttentionSpec& spec = request.inputs->spec;
    const VisitSchedule schedule = build_visit_schedule(spec, 128, 64);
    r.kernel = std::string("flash-tc ") + dtype_name(spec.dtype) + (schedule.gathered ? ", gathered keys: " : ", block-sparse: ") +
               std::to_string(schedule.visits.size()) + " visits of 128x64";
    if (request.record_trace) r.trace = synthetic_trace(*request.inputs, schedule, request.probe_rows);
    return r;
  }
  ScoreImage score_image(const ScoreImageRequest& request) override { return cpu_->score_image(request); }
  MemoryInfo memory() const override { return cpu_->memory(); }
  DeviceCeilings measure_ceilings() override { return cpu_->measure_ceilings(); }

  std::mutex mutex_;
  std::map<Algorithm, DType> ran_at;  // the dtype each algorithm's last run was given

 private:
  // One CTA per (batch, head, Q tile), visits in schedule order (k_tile = the visit's tile: K/V tile or gathered
  // ordinal), CTAs dealt round-robin to 6 "SMs", 100 ns per visit. Probe steps: the online softmax over each visit's
  // keys, from the reference's double scores.
  static Trace synthetic_trace(const AttentionInputs& in, const VisitSchedule& s, const std::vector<int32_t>& rows) {
    const AttentionSpec& spec = in.spec;
    Trace t;
    t.source = "cuda";
    t.algorithm = "flash-tc";
    t.device = "synthetic";
    t.clock = "globaltimer";
    t.spec = spec.summary();
    t.br = s.br;
    t.bc = s.bc;
    t.tr = static_cast<int32_t>(s.tr);
    t.tc = static_cast<int32_t>((spec.kv_len + s.bc - 1) / s.bc);
    t.units = 6;
    std::vector<int64_t> unit_time(6, 0);
    int32_t cta = 0;
    for (int32_t b = 0; b < spec.batch; ++b)
      for (int32_t h = 0; h < spec.q_heads; ++h)
        for (int32_t q = 0; q < s.tr; ++q, ++cta) {
          CtaRecord c;
          c.cta = cta;
          c.batch = b, c.head = h, c.q_tile = q;
          c.unit = cta % 6;
          int64_t& now = unit_time[static_cast<size_t>(c.unit)];
          for (int32_t v = s.offsets[static_cast<size_t>(q)]; v < s.offsets[static_cast<size_t>(q) + 1]; ++v) {
            c.visits.push_back({s.visits[static_cast<size_t>(v)].tile, now, now + 100});
            now += 110;
          }
          t.ctas.push_back(std::move(c));
        }
    const ReferenceHead ref = reference_head(in, 0, 0);
    for (int32_t row : rows) {
      RowProbe p;
      p.row = row;
      const int32_t q = row / s.br;
      double m = -std::numeric_limits<double>::infinity(), l = 0;
      for (int32_t v = s.offsets[static_cast<size_t>(q)]; v < s.offsets[static_cast<size_t>(q) + 1]; ++v) {
        const KernelVisit& visit = s.visits[static_cast<size_t>(v)];
        std::vector<int64_t> keys;
        if (s.gathered) {
          for (int c = 0; c < s.bc; ++c)
            if (const int32_t k = s.keys[static_cast<size_t>(visit.key_begin + c)]; k >= 0) keys.push_back(k);
        } else {
          for (int64_t k = visit.key_begin; k < std::min<int64_t>(spec.kv_len, visit.key_begin + s.bc); ++k) keys.push_back(k);
        }
        double m_new = m;
        for (int64_t k : keys) m_new = std::max(m_new, ref.scores[static_cast<size_t>(row * ref.cols + k)]);
        const double rescale = std::isfinite(m_new) && std::isfinite(m) ? std::exp(m - m_new) : 0.0;
        l *= rescale;
        for (int64_t k : keys)
          if (const double sc = ref.scores[static_cast<size_t>(row * ref.cols + k)]; std::isfinite(sc)) l += std::exp(sc - m_new);
        m = m_new;
        p.steps.push_back({visit.tile, m, l, rescale, 0.0});
      }
      t.probes.push_back(std::move(p));
    }
    return t;
  }
  std::unique_ptr<Backend> cpu_;
};

}  // namespace attnscope::test
