// compute_worker.hpp — runs the backend off the UI thread. The UI submits the newest experiment; the worker
// computes one job at a time and always picks the latest submission next (older pending ones are replaced),
// and the UI drops any result whose generation is not the newest: stale pictures never overwrite fresh ones.
#pragma once
#include <any>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "core/experiment.hpp"
#include "core/backend.hpp"

namespace attnscope::gui {

struct ComputeJob {
  uint64_t generation = 0;
  ExperimentConfig config;
  AttentionSpec spec;  // validated
  int max_cells = 512; // pooled picture resolution (cells per side at most)
};

struct ComputeResult {
  uint64_t generation = 0;
  ExperimentConfig config;
  AttentionSpec spec;
  ScoreImage image;          // of batch 0, query head 0
  double generate_ms = 0;    // making the inputs
  std::string error;         // set when the backend refused
};

// A view's own background work (a traced run, a sweep, a decode loop): runs on the worker thread with the
// backend (backends are not thread-safe, so all backend calls happen on that one thread), reports progress
// and checks `cancel` between steps.
struct TaskControl {
  std::atomic<double> progress{0.0};  // 0..1
  std::atomic<bool> cancel{false};
  void set_status(std::string text) { std::lock_guard lock(mutex); status = std::move(text); }
  std::string get_status() { std::lock_guard lock(mutex); return status; }
  std::mutex mutex;
  std::string status;
};
template <class T>
using TaskFn = std::function<T(Backend& backend, TaskControl& control)>;

// A task's queue slot and the type its task returns: the typed handle through which a view submits work and takes
// the result (no casts at the call sites). Declared once per task, e.g.
//   inline constexpr TaskChannel<TimingRun> kTimingChannel{"Scaling.timing"};
template <class T>
struct TaskChannel {
  const char* name;
};

struct TaskState {
  bool pending = false, running = false;
  double progress = 0.0, seconds = 0.0;
  std::string status;
  std::string error;  // the last task of the channel threw: its message (cleared by the next submission)
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
  BackendCapabilities capabilities() const { return capabilities_; }
  SpecLimits limits() const { return limits_; }

  // Tasks, one queue slot per channel: a new submission replaces the channel's task that has not started yet. The
  // Explore picture job goes first, then tasks in submission order. A task that throws leaves no result; its
  // exception's message becomes the channel's TaskState::error.
  template <class T>
  void submit_task(TaskChannel<T> channel, std::type_identity_t<TaskFn<T>> fn) {  // T from the channel alone
    submit_erased(channel.name, [fn = std::move(fn)](Backend& backend, TaskControl& control) {
      return std::any(fn(backend, control));
    });
  }
  template <class T>
  std::optional<T> take_task_result(TaskChannel<T> channel) {  // once
    std::optional<std::any> any = take_erased(channel.name);
    if (!any) return std::nullopt;
    return std::any_cast<T>(std::move(*any));  // stored by submit_task<T> on this channel: always a T
  }
  template <class T>
  TaskState task_state(TaskChannel<T> channel) { return task_state(std::string(channel.name)); }
  template <class T>
  void cancel_task(TaskChannel<T> channel) { cancel_task(std::string(channel.name)); }
  TaskState task_state(const std::string& channel);
  void cancel_task(const std::string& channel);  // drops a pending one, asks a running one to stop
  // Nothing pending or running, and every finished task result has been taken (headless render waits for it).
  bool idle();

 private:
  using ErasedTask = std::function<std::any(Backend& backend, TaskControl& control)>;
  void submit_erased(const std::string& channel, ErasedTask fn);
  std::optional<std::any> take_erased(const std::string& channel);
  void loop();
  void run_one_task(std::unique_lock<std::mutex>& lock);

  std::unique_ptr<Backend> backend_;
  std::string backend_name_, device_name_;
  BackendCapabilities capabilities_;
  SpecLimits limits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<ComputeJob> pending_;
  std::optional<ComputeResult> finished_;
  std::atomic<bool> busy_{false};
  std::atomic<int64_t> started_ns_{0};
  bool stop_ = false;
  std::deque<std::pair<std::string, ErasedTask>> pending_tasks_;
  std::map<std::string, std::any> task_results_;
  std::map<std::string, std::string> task_errors_;
  std::string running_channel_;
  std::shared_ptr<TaskControl> running_control_;
  int64_t task_started_ns_ = 0;
  std::thread thread_;
};

}  // namespace attnscope::gui
