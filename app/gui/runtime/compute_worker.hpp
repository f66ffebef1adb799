// compute_worker.hpp — runs the backend off the UI thread. The UI submits the newest experiment; the worker
// computes one job at a time and always picks the latest submission next (older pending ones are replaced),
// and the UI drops any result whose generation is not the newest: stale pictures never overwrite fresh ones.
//
// Scheduling contract (one thread, so one thing runs at a time):
//   - every task belongs to a view (TaskChannel::view: a mode's tab name, a part of one shown on its own such as
//     "Scaling/sweep", or kAppView for the window's own work, always on screen);
//   - the app says, once per frame, which views are on screen: begin_frame(), mark_visible() for each view it
//     draws, end_frame() (until the first end_frame() every view counts as on screen: tools and tests without a
//     window);
//   - order: the Explore picture when Explore is on screen; then tasks of on-screen views in submission order, the
//     picture among them in its submission order when Explore is hidden (the status bar still reports it); tasks
//     of hidden views are deferred (they stay pending and do not run);
//   - a running task whose view becomes hidden is asked to stop (TaskControl::cancel); whatever it returns or
//     throws is dropped and the task is queued again in its old place, so it runs from the start when its view is
//     shown again (unless the channel got a newer submission meanwhile);
//   - idle() counts only on-screen work: a headless render of one view does not wait for the others.
#pragma once
#include <algorithm>
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
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

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
  // A step that takes a while (one sweep point): the progress it will reach when done and how long it is expected
  // to take, from now. While it runs the shown progress moves from `progress` toward `goal` with the time spent
  // (shown_progress), so a long step does not look stalled. Replaced by the next set_step_goal; spent once progress
  // reaches the goal.
  void set_step_goal(double goal, double expected_s, int64_t now_ns = clock_ns()) {
    std::lock_guard lock(mutex);
    step_goal = goal;
    step_expected_s = expected_s;
    step_started_ns = now_ns;
  }
  // progress + (goal − progress) · min(elapsed / expected, 1) · 0.95: never reaches the goal before the step ends
  // (the step's own report does), never goes back.
  // What was shown stays the floor: a step that overran its estimate can lower the next report below it.
  double shown_progress(int64_t now_ns = clock_ns()) {
    const double p = progress.load();
    std::lock_guard lock(mutex);
    double value = p;
    if (step_expected_s > 0 && step_goal > p) {
      const double elapsed_s = static_cast<double>(now_ns - step_started_ns) * 1e-9;
      const double share = elapsed_s <= 0 ? 0.0 : (elapsed_s >= step_expected_s ? 1.0 : elapsed_s / step_expected_s);
      value = p + (step_goal - p) * share * 0.95;
    }
    shown = std::max(shown, value);
    return shown;
  }
  // The steady clock in nanoseconds (the worker's clock too).
  static int64_t clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  std::mutex mutex;
  std::string status;
  double step_goal = 0, step_expected_s = 0, shown = 0;
  int64_t step_started_ns = 0;
};
template <class T>
using TaskFn = std::function<T(Backend& backend, TaskControl& control)>;

// A task's queue slot and the type its task returns: the typed handle through which a view submits work and takes
// the result (no casts at the call sites). Declared once per task, e.g.
//   inline constexpr TaskChannel<TimingRun> kTimingChannel{"Scaling.timing", "Scaling"};
// The view of the window's own work (the status bar's memory readout): always on screen.
inline constexpr const char* kAppView = "app";
// The view that shows the picture job's result.
inline constexpr const char* kPictureView = "Explore";

template <class T>
struct TaskChannel {
  const char* name;
  const char* view = kAppView;  // the view that shows the channel's results: its tasks run while it is on screen
};

struct TaskState {
  bool pending = false, running = false;
  bool deferred = false;  // pending while its view is hidden: it runs, from the start, when the view is shown again
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
  bool busy() const { return busy_.load(); }    // the picture is being computed
  bool computing();                             // the picture or any task is being computed
  double busy_seconds() const;                 // how long the running job has run
  std::string backend_name() const { return backend_name_; }
  std::string device_name() const { return device_name_; }
  BackendCapabilities capabilities() const { return capabilities_; }
  SpecLimits limits() const { return limits_; }

  // Tasks, one queue slot per channel: a new submission replaces the channel's task that has not started yet (it
  // keeps that task's place). The order is the scheduling contract above. A task that throws (any type) leaves no
  // result; its exception's message becomes the channel's TaskState::error (std::bad_alloc: "out of host memory …"),
  // and the worker goes on serving.
  template <class T>
  void submit_task(TaskChannel<T> channel, std::type_identity_t<TaskFn<T>> fn) {  // T from the channel alone
    submit_erased(channel.name, channel.view ? channel.view : kAppView, [fn = std::move(fn)](Backend& backend, TaskControl& control) {
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
  // The errors of on-screen views' channels whose last task threw, in channel order: the status bar shows them, so a
  // failure is seen whether or not its view draws TaskState::error itself.
  struct TaskFailure {
    std::string channel, view, error;
  };
  std::vector<TaskFailure> visible_failures();
  void cancel_task(const std::string& channel);  // drops a pending one, asks a running one to stop
  // No picture pending or computing, and no task of an on-screen view pending, running or with a result not yet
  // taken (headless render waits for it). Hidden views' work does not count.
  bool idle();

  // The views on screen this frame (UI thread): begin_frame(), mark_visible(view) for each view drawn, end_frame()
  // makes the marked set current, defers hidden views' tasks and stops a running one (see the contract above).
  void begin_frame();
  void mark_visible(const std::string& view);
  void end_frame();
  bool on_screen(const std::string& view);

 private:
  using ErasedTask = std::function<std::any(Backend& backend, TaskControl& control)>;
  struct QueuedTask {
    std::string channel, view;
    uint64_t sequence = 0;  // submission order (a replacement keeps the replaced task's)
    ErasedTask fn;
  };
  struct RunningTask {
    std::string channel, view;
    std::shared_ptr<TaskControl> control;
    int64_t started_ns = 0;
    bool requeue = false;  // its view was hidden while it ran: drop what it returns, queue it again
  };
  struct FinishedTask {
    std::string view;
    std::any result;
  };
  void submit_erased(const std::string& channel, const std::string& view, ErasedTask fn);
  std::optional<std::any> take_erased(const std::string& channel);
  void loop();
  // All with mutex_ held.
  bool visible_locked(const std::string& view) const;
  std::deque<QueuedTask>::iterator next_runnable_task();
  void run_task(std::unique_lock<std::mutex>& lock, std::deque<QueuedTask>::iterator which);
  void requeue(QueuedTask task);

  std::unique_ptr<Backend> backend_;
  std::string backend_name_, device_name_;
  BackendCapabilities capabilities_;
  SpecLimits limits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<ComputeJob> pending_;
  uint64_t pending_sequence_ = 0;  // the pending picture's place among the tasks (a replacement keeps it)
  std::optional<ComputeResult> finished_;
  std::atomic<bool> busy_{false};
  std::atomic<int64_t> started_ns_{0};
  bool stop_ = false;
  std::deque<QueuedTask> pending_tasks_;  // in sequence order
  uint64_t next_sequence_ = 0;
  std::map<std::string, FinishedTask> task_results_;
  std::map<std::string, TaskFailure> task_errors_;  // by channel
  std::optional<RunningTask> running_;
  std::optional<std::set<std::string>> visible_views_;  // none yet: every view is on screen
  std::set<std::string> marked_views_;                  // being collected for this frame (UI thread)
  std::thread thread_;
};

}  // namespace attnscope::gui
