// compute_worker.cpp — see compute_worker.hpp.
#include "app/gui/runtime/compute_worker.hpp"

#include <exception>

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

void ComputeWorker::submit_erased(const std::string& channel, ErasedTask fn) {
  {
    std::lock_guard lock(mutex_);
    task_errors_.erase(channel);
    bool replaced = false;
    for (auto& [name, task] : pending_tasks_)
      if (name == channel) { task = std::move(fn); replaced = true; }
    if (!replaced) pending_tasks_.emplace_back(channel, std::move(fn));
  }
  wake_.notify_all();
}

std::optional<std::any> ComputeWorker::take_erased(const std::string& channel) {
  std::lock_guard lock(mutex_);
  auto it = task_results_.find(channel);
  if (it == task_results_.end()) return std::nullopt;
  std::optional<std::any> out = std::move(it->second);
  task_results_.erase(it);
  return out;
}

TaskState ComputeWorker::task_state(const std::string& channel) {
  std::lock_guard lock(mutex_);
  TaskState state;
  for (auto& [name, task] : pending_tasks_) state.pending |= (name == channel);
  if (auto it = task_errors_.find(channel); it != task_errors_.end()) state.error = it->second;
  if (running_channel_ == channel && running_control_) {
    state.running = true;
    state.progress = running_control_->progress.load();
    state.status = running_control_->get_status();
    state.seconds = static_cast<double>(now_ns() - task_started_ns_) * 1e-9;
  }
  return state;
}

void ComputeWorker::cancel_task(const std::string& channel) {
  std::lock_guard lock(mutex_);
  for (auto it = pending_tasks_.begin(); it != pending_tasks_.end();)
    it = it->first == channel ? pending_tasks_.erase(it) : std::next(it);
  if (running_channel_ == channel && running_control_) running_control_->cancel = true;
}

bool ComputeWorker::idle() {
  std::lock_guard lock(mutex_);
  return !busy_ && !pending_ && pending_tasks_.empty() && running_channel_.empty() && task_results_.empty();
}

// Called with the lock held and a task pending; runs it unlocked.
void ComputeWorker::run_one_task(std::unique_lock<std::mutex>& lock) {
  auto [channel, fn] = std::move(pending_tasks_.front());
  pending_tasks_.pop_front();
  running_channel_ = channel;
  running_control_ = std::make_shared<TaskControl>();
  task_started_ns_ = now_ns();
  auto control = running_control_;
  lock.unlock();
  std::any result;
  std::string error;
  try {
    result = fn(*backend_, *control);
  } catch (const std::exception& e) {
    error = e.what()[0] ? e.what() : "the task failed";
  } catch (...) {
    error = "the task failed with an unknown exception";
  }
  lock.lock();
  if (error.empty()) task_results_[channel] = std::move(result);
  else task_errors_[channel] = std::move(error);
  running_channel_.clear();
  running_control_.reset();
}

void ComputeWorker::loop() {
  for (;;) {
    ComputeJob job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || pending_.has_value() || !pending_tasks_.empty(); });
      if (stop_) return;
      if (!pending_.has_value()) {
        run_one_task(lock);
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
      result.error = std::string("the picture failed: ") + e.what();
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
