// compute_worker.hpp — runs the backend off the UI thread. The UI submits the newest experiment; the worker
// computes one job at a time and always picks the latest submission next (older pending ones are replaced),
// and the UI drops any result whose generation is not the newest: stale pictures never overwrite fresh ones.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "app/cli/experiment.hpp"
#include "core/backend.hpp"

namespace attnscope::gui {

struct ComputeJob {
  uint64_t generation = 0;
  app::ExperimentConfig config;
  AttentionSpec spec;  // validated
  int max_cells = 512; // pooled picture resolution (cells per side at most)
};

struct ComputeResult {
  uint64_t generation = 0;
  app::ExperimentConfig config;
  AttentionSpec spec;
  ScoreImage image;          // of batch 0, query head 0
  double generate_ms = 0;    // making the inputs
  std::string error;         // set when the backend refused
};

class ComputeWorker {
 public:
  // Takes ownership of the backend; `backend_label` is shown in the status bar ("cpu · CPU (2 threads)").
  explicit ComputeWorker(std::unique_ptr<Backend> backend);
  ~ComputeWorker();
  ComputeWorker(const ComputeWorker&) = delete;
  ComputeWorker& operator=(const ComputeWorker&) = delete;

  void submit(ComputeJob job);
  std::optional<ComputeResult> take_result();  // newest finished result, once
  bool busy() const { return busy_.load(); }
  double busy_seconds() const;                 // how long the running job has run
  std::string backend_name() const { return backend_name_; }
  std::string device_name() const { return device_name_; }
  SpecLimits limits() const { return limits_; }

 private:
  void loop();

  std::unique_ptr<Backend> backend_;
  std::string backend_name_, device_name_;
  SpecLimits limits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<ComputeJob> pending_;
  std::optional<ComputeResult> finished_;
  std::atomic<bool> busy_{false};
  std::atomic<int64_t> started_ns_{0};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace attnscope::gui
