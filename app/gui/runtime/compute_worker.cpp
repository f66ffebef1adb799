// compute_worker.cpp — see compute_worker.hpp.
#include "app/gui/runtime/compute_worker.hpp"

#include <algorithm>
#include <exception>
#include <new>

namespace attnscope::gui {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The inputs of (batch 0, query head 0) and its KV head 0. generate_inputs fills each tensor batch-major,
// head-major from one seeded stream per tensor, so these are exactly the first elements of the full problem's
// tensors: generating batch 1 x 1 head gives the same head 0 without allocating every head.
AttentionInputs head_zero_inputs(const ComputeJob& job) {
  AttentionSpec one = job.spec;
  one.batch = 1;
  one.q_heads = 1;
  one.kv_heads = 1;
  return generate_inputs(one, job.config.generator, job.config.seed);
}

// What a failed computation says: an allocation that failed is named as such (std::bad_alloc's own what() is
// "std::bad_alloc"), with what to do about it.
std::string exception_message(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e))
    return "out of host memory (an allocation failed): try a smaller N, batch or head count";
  return e.what()[0] ? e.what() : "the computation failed";
}

}  // namespace

ComputeWorker::ComputeWorker(std::unique_ptr<Backend> backend) : backend_(std::move(backend)) {
  backend_name_ = backend_->name();
  device_name_ = backend_->device_name();
  capabilities_ = backend_->capabilities();
  limits_ = backend_->limits();
  thread_ = std::thread([this] { loop(); });
}

ComputeWorker::~ComputeWorker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ComputeWorker::submit(ComputeJob job) {
  {
    std::lock_guard lock(mutex_);
    if (!pending_) pending_sequence_ = next_sequence_++;
    pending_ = std::move(job);  // replaces an older job that has not started
  }
  wake_.notify_all();
}

std::optional<ComputeResult> ComputeWorker::take_result() {
  std::lock_guard lock(mutex_);
  std::optional<ComputeResult> out = std::move(finished_);
  finished_.reset();
  return out;
}

double ComputeWorker::busy_seconds() const {
  return busy_ ? static_cast<double>(now_ns() - started_ns_.load()) * 1e-9 : 0.0;
}

void ComputeWorker::submit_erased(const std::string& channel, const std::string& view, ErasedTask fn) {
  {
    std::lock_guard lock(mutex_);
    task_errors_.erase(channel);
    bool replaced = false;
    for (QueuedTask& task : pending_tasks_)
      if (task.channel == channel) {
        task.view = view;
        task.fn = std::move(fn);
        replaced = true;
      }
    if (!replaced) pending_tasks_.push_back(QueuedTask{channel, view, next_sequence_++, std::move(fn)});
  }
  wake_.notify_all();
}

std::optional<std::any> ComputeWorker::take_erased(const std::string& channel) {
  std::lock_guard lock(mutex_);
  auto it = task_results_.find(channel);
  if (it == task_results_.end()) return std::nullopt;
  std::optional<std::any> out = std::move(it->second.result);
  task_results_.erase(it);
  return out;
}

TaskState ComputeWorker::task_state(const std::string& channel) {
  std::lock_guard lock(mutex_);
  TaskState state;
  for (const QueuedTask& task : pending_tasks_)
    if (task.channel == channel) {
      state.pending = true;
      state.deferred = !visible_locked(task.view);
    }
  if (auto it = task_errors_.find(channel); it != task_errors_.end()) state.error = it->second.error;
  if (running_ && running_->channel == channel) {
    state.running = true;
    state.progress = running_->control->shown_progress(now_ns());
    state.status = running_->control->get_status();
    state.seconds = static_cast<double>(now_ns() - running_->started_ns) * 1e-9;
  }
  return state;
}

std::vector<ComputeWorker::TaskFailure> ComputeWorker::visible_failures() {
  std::lock_guard lock(mutex_);
  std::vector<TaskFailure> out;
  for (const auto& [channel, failure] : task_errors_)
    if (visible_locked(failure.view)) out.push_back(failure);
  return out;
}

void ComputeWorker::cancel_task(const std::string& channel) {
  std::lock_guard lock(mutex_);
  for (auto it = pending_tasks_.begin(); it != pending_tasks_.end();)
    it = it->channel == channel ? pending_tasks_.erase(it) : std::next(it);
  if (running_ && running_->channel == channel) {
    running_->control->cancel = true;
    running_->requeue = false;  // asked to stop by its view: what it returns is its answer
  }
}

bool ComputeWorker::computing() {
  std::lock_guard lock(mutex_);
  return busy_ || running_.has_value();
}

bool ComputeWorker::idle() {
  std::lock_guard lock(mutex_);
  if (busy_ || pending_) return false;
  if (running_ && visible_locked(running_->view)) return false;
  for (const QueuedTask& task : pending_tasks_)
    if (visible_locked(task.view)) return false;
  for (const auto& [channel, finished] : task_results_)
    if (visible_locked(finished.view)) return false;
  return true;
}

void ComputeWorker::begin_frame() {
  std::lock_guard lock(mutex_);
  marked_views_.clear();
}

void ComputeWorker::mark_visible(const std::string& view) {
  std::lock_guard lock(mutex_);
  marked_views_.insert(view);
}

void ComputeWorker::end_frame() {
  {
    std::lock_guard lock(mutex_);
    visible_views_ = marked_views_;
    if (running_ && !running_->requeue && !visible_locked(running_->view)) {
      running_->control->cancel = true;
      running_->requeue = true;
    }
  }
  wake_.notify_all();  // tasks of views shown now may run
}

bool ComputeWorker::on_screen(const std::string& view) {
  std::lock_guard lock(mutex_);
  return visible_locked(view);
}

bool ComputeWorker::visible_locked(const std::string& view) const {
  return !visible_views_ || view == kAppView || visible_views_->count(view) > 0;
}

std::deque<ComputeWorker::QueuedTask>::iterator ComputeWorker::next_runnable_task() {
  return std::find_if(pending_tasks_.begin(), pending_tasks_.end(),
                      [&](const QueuedTask& task) { return visible_locked(task.view); });
}

void ComputeWorker::requeue(QueuedTask task) {
  for (const QueuedTask& pending : pending_tasks_)
    if (pending.channel == task.channel) return;  // a newer submission of the channel replaces it
  auto at = std::find_if(pending_tasks_.begin(), pending_tasks_.end(),
                         [&](const QueuedTask& pending) { return pending.sequence > task.sequence; });
  pending_tasks_.insert(at, std::move(task));
}

// Called with the lock held and `which` runnable; runs it unlocked.
void ComputeWorker::run_task(std::unique_lock<std::mutex>& lock, std::deque<QueuedTask>::iterator which) {
  QueuedTask task = std::move(*which);
  pending_tasks_.erase(which);
  auto control = std::make_shared<TaskControl>();
  running_ = RunningTask{task.channel, task.view, control, now_ns(), false};
  lock.unlock();
  std::any result;
  std::string error;
  try {
    result = task.fn(*backend_, *control);
  } catch (const std::exception& e) {
    error = exception_message(e);
  } catch (...) {
    error = "the task failed with an exception that is not a std::exception";
  }
  lock.lock();
  const bool hidden_meanwhile = running_->requeue;
  running_.reset();
  if (hidden_meanwhile) requeue(std::move(task));
  else if (error.empty()) task_results_[task.channel] = FinishedTask{task.view, std::move(result)};
  else task_errors_[task.channel] = TaskFailure{task.channel, task.view, std::move(error)};
}

void ComputeWorker::loop() {
  for (;;) {
    ComputeJob job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || pending_.has_value() || next_runnable_task() != pending_tasks_.end(); });
      if (stop_) return;
      // The picture first when Explore shows it, else in its submission order among the on-screen views' tasks.
      const auto task = next_runnable_task();
      const bool task_waiting = task != pending_tasks_.end();
      const bool picture_next = pending_.has_value() && (!task_waiting || visible_locked(kPictureView) ||
                                                         pending_sequence_ < task->sequence);
      if (!picture_next) {
        run_task(lock, task);
        continue;
      }
      job = std::move(*pending_);
      pending_.reset();
      started_ns_ = now_ns();
      busy_ = true;
    }
    ComputeResult result;
    result.generation = job.generation;
    result.config = job.config;
    result.spec = job.spec;
    try {
      const auto t0 = std::chrono::steady_clock::now();
      AttentionInputs inputs = head_zero_inputs(job);
      result.generate_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ScoreImageRequest request;
      request.inputs = &inputs;
      request.kind = job.config.show;
      request.cells_q = request.cells_k = job.max_cells;
      result.image = backend_->score_image(request);
      if (!result.image.ok) result.error = result.image.error;
    } catch (const std::exception& e) {  // an exception is this picture's error, not the end of the app
      result.image = ScoreImage{};
      result.error = "the picture failed: " + exception_message(e);
    } catch (...) {
      result.image = ScoreImage{};
      result.error = "the picture failed with an exception that is not a std::exception";
    }
    {
      std::lock_guard lock(mutex_);
      // Only the newest finished result is kept; the UI also checks the generation.
      if (!finished_ || finished_->generation < result.generation) finished_ = std::move(result);
      busy_ = pending_.has_value();
      if (busy_) started_ns_ = now_ns();
    }
  }
}

}  // namespace attnscope::gui
