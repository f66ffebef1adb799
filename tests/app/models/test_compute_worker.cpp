// test_compute_worker.cpp — the worker's typed task channels without a display: a result comes back as its own type
// through its channel, once; a task that throws leaves its message as the channel's error and the worker goes on.
// Scheduling by view: a hidden view's task is deferred; an on-screen view's task runs before an earlier-submitted
// hidden one; the picture goes first only while Explore is shown; a running task whose view is hidden is stopped
// and runs again from the start when the view is shown; idle() counts only on-screen work.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <optional>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "app/gui/runtime/compute_worker.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

constexpr TaskChannel<int> kNumber{"test.number"};
constexpr TaskChannel<std::string> kText{"test.text"};

// Channels of two views, "left" and "right", as two modes' tabs would be.
constexpr TaskChannel<int> kLeft{"test.left", "left"};
constexpr TaskChannel<int> kRight{"test.right", "right"};

// Waits (at most 30 s) until `done` holds.
void wait_until(const std::function<bool()>& done) {
  const auto start = std::chrono::steady_clock::now();
  while (!done()) {
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Waits until the channel has neither a pending nor a running task.
template <class T>
void wait_done(ComputeWorker& worker, TaskChannel<T> channel) {
  wait_until([&] {
    const TaskState s = worker.task_state(channel);
    return !s.pending && !s.running;
  });
}

// One frame of the app that draws exactly `views`.
void show(ComputeWorker& worker, std::initializer_list<const char*> views) {
  worker.begin_frame();
  for (const char* view : views) worker.mark_visible(view);
  worker.end_frame();
}

// The order tasks ran in, written from the worker thread.
struct RunLog {
  std::mutex mutex;
  std::vector<std::string> names;
  void add(const std::string& name) {
    std::lock_guard lock(mutex);
    names.push_back(name);
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mutex);
    return names;
  }
};

// A task that holds the worker until `release` is set (or it is asked to stop).
TaskFn<int> gate_task(std::atomic<bool>& started, std::atomic<bool>& release) {
  return [&started, &release](Backend&, TaskControl& control) {
    started = true;
    while (!release && !control.cancel) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return 0;
  };
}

}  // namespace

TEST_CASE("compute worker: a typed channel hands its result back once, as its own type") {
  ComputeWorker worker(make_cpu_backend(1));
  worker.submit_task(kNumber, TaskFn<int>([](Backend& backend, TaskControl&) { return backend.name() == "cpu" ? 42 : 0; }));
  worker.submit_task(kText, TaskFn<std::string>([](Backend&, TaskControl&) { return std::string("done"); }));
  wait_done(worker, kNumber);
  wait_done(worker, kText);
  const std::optional<int> n = worker.take_task_result(kNumber);
  REQUIRE(n);
  CHECK(*n == 42);
  CHECK_FALSE(worker.take_task_result(kNumber));  // once
  const std::optional<std::string> t = worker.take_task_result(kText);
  REQUIRE(t);
  CHECK(*t == "done");
  CHECK(worker.idle());
}

TEST_CASE("compute worker: an exception thrown by a task becomes that task's error message") {
  ComputeWorker worker(make_cpu_backend(1));
  worker.submit_task(kNumber, TaskFn<int>([](Backend&, TaskControl&) -> int {
    throw std::runtime_error("the inputs do not fit in memory");
  }));
  wait_done(worker, kNumber);
  CHECK_FALSE(worker.take_task_result(kNumber));
  CHECK(worker.task_state(kNumber).error == "the inputs do not fit in memory");
  CHECK(worker.idle());

  // The worker goes on: the next task of the channel runs, and its submission clears the error.
  worker.submit_task(kNumber, TaskFn<int>([](Backend&, TaskControl&) { return 7; }));
  CHECK(worker.task_state(kNumber).error.empty());
  wait_done(worker, kNumber);
  const std::optional<int> n = worker.take_task_result(kNumber);
  REQUIRE(n);
  CHECK(*n == 7);
}

TEST_CASE("compute worker: a hidden view's task is deferred, not run, until its view is shown") {
  ComputeWorker worker(make_cpu_backend(1));
  show(worker, {"left"});
  std::atomic<int> right_runs{0};
  worker.submit_task(kRight, TaskFn<int>([&](Backend&, TaskControl&) { return ++right_runs; }));
  // A later task of the shown view runs and finishes; the hidden one stays pending, marked deferred.
  worker.submit_task(kLeft, TaskFn<int>([](Backend&, TaskControl&) { return 1; }));
  wait_done(worker, kLeft);
  REQUIRE(worker.take_task_result(kLeft));
  const TaskState hidden = worker.task_state(kRight);
  CHECK(hidden.pending);
  CHECK(hidden.deferred);
  CHECK_FALSE(hidden.running);
  CHECK(hidden.error.empty());
  CHECK(right_runs == 0);
  CHECK_FALSE(worker.take_task_result(kRight));

  show(worker, {"right"});
  CHECK_FALSE(worker.task_state(kRight).deferred);
  wait_done(worker, kRight);
  const std::optional<int> n = worker.take_task_result(kRight);
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(right_runs == 1);
}

TEST_CASE("compute worker: a shown view's task runs before an earlier-submitted hidden one") {
  ComputeWorker worker(make_cpu_backend(1));
  RunLog log;
  std::atomic<bool> started{false}, release{false};
  constexpr TaskChannel<int> kGate{"test.gate", "left"};
  show(worker, {"left", "right"});
  worker.submit_task(kGate, gate_task(started, release));  // holds the worker while the queue is built
  wait_until([&] { return started.load(); });
  worker.submit_task(kRight, TaskFn<int>([&](Backend&, TaskControl&) { log.add("right"); return 2; }));
  worker.submit_task(kLeft, TaskFn<int>([&](Backend&, TaskControl&) { log.add("left"); return 1; }));
  show(worker, {"left"});  // the user switched to "left": the gate (a "left" task) keeps running
  CHECK_FALSE(worker.task_state(kGate).deferred);
  release = true;
  wait_done(worker, kLeft);
  CHECK(log.get() == std::vector<std::string>{"left"});
  CHECK(worker.task_state(kRight).deferred);

  show(worker, {"left", "right"});
  wait_done(worker, kRight);
  CHECK(log.get() == std::vector<std::string>{"left", "right"});
  CHECK(worker.take_task_result(kRight) == 2);
}

TEST_CASE("compute worker: a running task whose view is hidden stops, is not an error, and reruns when shown") {
  ComputeWorker worker(make_cpu_backend(1));
  show(worker, {"right"});
  std::atomic<int> starts{0};
  std::atomic<bool> saw_cancel{false};
  // The first run waits for its cancel and throws as a cancelled computation may; the second run finishes.
  worker.submit_task(kRight, TaskFn<int>([&](Backend&, TaskControl& control) -> int {
    const int run = ++starts;
    if (run == 1) {
      while (!control.cancel) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      saw_cancel = true;
      throw std::runtime_error("stopped half way");
    }
    return run;
  }));
  wait_until([&] { return worker.task_state(kRight).running; });
  CHECK_FALSE(worker.idle());

  show(worker, {"left"});  // its view goes off screen
  wait_until([&] { return !worker.task_state(kRight).running; });
  CHECK(saw_cancel);
  const TaskState stopped = worker.task_state(kRight);
  CHECK(stopped.pending);
  CHECK(stopped.deferred);
  CHECK(stopped.error.empty());  // what the stopped run threw is dropped
  CHECK_FALSE(worker.take_task_result(kRight));
  CHECK(starts == 1);

  show(worker, {"right"});
  wait_done(worker, kRight);
  CHECK(starts == 2);
  const std::optional<int> n = worker.take_task_result(kRight);
  REQUIRE(n);
  CHECK(*n == 2);
  CHECK(worker.task_state(kRight).error.empty());
}

TEST_CASE("compute worker: a newer submission replaces a task stopped because its view was hidden") {
  ComputeWorker worker(make_cpu_backend(1));
  show(worker, {"right"});
  std::atomic<int> old_runs{0};
  worker.submit_task(kRight, TaskFn<int>([&](Backend&, TaskControl& control) -> int {
    ++old_runs;
    while (!control.cancel) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return -1;
  }));
  wait_until([&] { return worker.task_state(kRight).running; });
  show(worker, {"left"});
  worker.submit_task(kRight, TaskFn<int>([](Backend&, TaskControl&) { return 5; }));
  wait_until([&] { return !worker.task_state(kRight).running; });
  show(worker, {"right"});
  wait_done(worker, kRight);
  CHECK(worker.take_task_result(kRight) == 5);
  CHECK(old_runs == 1);
}

TEST_CASE("compute worker: cancel_task of a running task hands back what it returned, with no rerun") {
  ComputeWorker worker(make_cpu_backend(1));
  show(worker, {"right"});
  std::atomic<int> runs{0};
  worker.submit_task(kRight, TaskFn<int>([&](Backend&, TaskControl& control) -> int {
    ++runs;
    while (!control.cancel) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return 9;  // what was measured before the stop
  }));
  wait_until([&] { return worker.task_state(kRight).running; });
  worker.cancel_task(kRight);
  wait_done(worker, kRight);
  CHECK(worker.take_task_result(kRight) == 9);
  CHECK(runs == 1);
}

TEST_CASE("compute worker: idle() counts only the work of views on screen") {
  ComputeWorker worker(make_cpu_backend(1));
  show(worker, {"left"});
  worker.submit_task(kRight, TaskFn<int>([](Backend&, TaskControl&) { return 3; }));
  CHECK(worker.idle());  // deferred work of a hidden view
  worker.submit_task(kLeft, TaskFn<int>([](Backend&, TaskControl&) { return 4; }));
  CHECK_FALSE(worker.idle());  // pending, running or finished and not yet taken
  wait_done(worker, kLeft);
  CHECK_FALSE(worker.idle());  // the result waits to be taken
  REQUIRE(worker.take_task_result(kLeft));
  CHECK(worker.idle());

  // A finished result of a view that went off screen before taking it does not count either.
  show(worker, {"right"});
  wait_done(worker, kRight);
  show(worker, {"left"});
  CHECK(worker.idle());
  show(worker, {"right"});
  CHECK_FALSE(worker.idle());
  CHECK(worker.take_task_result(kRight) == 3);
  CHECK(worker.idle());

  // The window's own work (kAppView, the default) is always on screen.
  show(worker, {});
  worker.submit_task(kNumber, TaskFn<int>([](Backend&, TaskControl&) { return 1; }));
  CHECK_FALSE(worker.idle());
  wait_done(worker, kNumber);
  REQUIRE(worker.take_task_result(kNumber));
  CHECK(worker.idle());
}

TEST_CASE("compute worker: a task of a shown view that throws reports its error") {
  ComputeWorker worker(make_cpu_backend(1));
  show(worker, {"right"});
  worker.submit_task(kRight, TaskFn<int>([](Backend&, TaskControl&) -> int { throw std::runtime_error("no memory"); }));
  wait_done(worker, kRight);
  CHECK(worker.task_state(kRight).error == "no memory");
  CHECK_FALSE(worker.take_task_result(kRight));
  CHECK(worker.idle());
}

TEST_CASE("compute worker: the picture goes first while Explore is shown, in submission order otherwise") {
  struct Case {
    bool explore_shown, picture_submitted_first, picture_before_task;
  };
  for (const Case c : {Case{true, false, true}, Case{false, false, false}, Case{false, true, true}}) {
    INFO("Explore shown: ", c.explore_shown, ", picture submitted first: ", c.picture_submitted_first);
    ComputeWorker worker(make_cpu_backend(1));
    std::atomic<bool> started{false}, release{false};
    if (c.explore_shown) show(worker, {kPictureView, "left"});
    else show(worker, {"left"});
    worker.submit_task(kNumber, gate_task(started, release));  // holds the worker while both are queued
    wait_until([&] { return started.load(); });
    ExperimentConfig config;
    config.n = 64;
    const SpecResult spec = to_spec(config, worker.limits());
    REQUIRE(spec.ok);
    ComputeJob job;
    job.generation = 1;
    job.config = config;
    job.spec = spec.spec;
    job.max_cells = 64;
    std::atomic<int> picture_seen_by_task{-1};
    auto submit_task = [&] {
      worker.submit_task(kLeft, TaskFn<int>([&](Backend&, TaskControl&) {
        picture_seen_by_task = worker.take_result().has_value() ? 1 : 0;  // the picture has finished already
        return 0;
      }));
    };
    if (c.picture_submitted_first) worker.submit(job);
    submit_task();
    if (!c.picture_submitted_first) worker.submit(job);
    release = true;
    wait_done(worker, kLeft);
    CHECK(picture_seen_by_task == (c.picture_before_task ? 1 : 0));
    if (!c.picture_before_task) wait_until([&] { return worker.take_result().has_value(); });  // it runs after
  }
}

namespace {

// The CPU backend, except that its first `failures` pictures throw: a std::bad_alloc, then a value that is not a
// std::exception at all.
class ThrowingPictureBackend : public Backend {
 public:
  explicit ThrowingPictureBackend(int failures) : cpu_(make_cpu_backend(1)), failures_(failures) {}
  std::string name() const override { return cpu_->name(); }
  std::string device_name() const override { return cpu_->device_name(); }
  BackendCapabilities capabilities() const override { return cpu_->capabilities(); }
  bool supports(Algorithm algorithm, const AttentionSpec& spec, std::string* why_not) const override {
    return cpu_->supports(algorithm, spec, why_not);
  }
  RunResult run(const RunRequest& request) override { return cpu_->run(request); }
  ScoreImage score_image(const ScoreImageRequest& request) override {
    const int call = calls_++;
    if (call < failures_) {
      if (call % 2 == 0) throw std::bad_alloc();
      throw 42;
    }
    return cpu_->score_image(request);
  }

 private:
  std::unique_ptr<Backend> cpu_;
  int failures_;
  int calls_ = 0;
};

ComputeJob picture_job(const ComputeWorker& worker, uint64_t generation) {
  ExperimentConfig config;
  config.n = 64;
  const SpecResult spec = to_spec(config, worker.limits());
  REQUIRE(spec.ok);
  ComputeJob job;
  job.generation = generation;
  job.config = config;
  job.spec = spec.spec;
  job.max_cells = 64;
  return job;
}

ComputeResult wait_picture(ComputeWorker& worker) {
  std::optional<ComputeResult> result;
  wait_until([&] { return (result = worker.take_result()).has_value(); });
  return *result;
}

}  // namespace

TEST_CASE("compute worker: a task throwing any type, or running out of host memory, reports a message and the worker serves on") {
  ComputeWorker worker(make_cpu_backend(1));
  show(worker, {"left", "right"});
  worker.submit_task(kLeft, TaskFn<int>([](Backend&, TaskControl&) -> int { throw 42; }));
  worker.submit_task(kRight, TaskFn<int>([](Backend&, TaskControl&) -> int { throw std::runtime_error(""); }));
  wait_done(worker, kLeft);
  wait_done(worker, kRight);
  CHECK(worker.task_state(kLeft).error == "the task failed with an exception that is not a std::exception");
  CHECK(worker.task_state(kRight).error == "the computation failed");  // an exception with no message still says so

  // The status bar's list: both failures while their views are on screen, none of a hidden view.
  std::vector<ComputeWorker::TaskFailure> failures = worker.visible_failures();
  REQUIRE(failures.size() == 2);
  CHECK(failures[0].view == "left");
  CHECK(failures[1].view == "right");
  show(worker, {"right"});
  failures = worker.visible_failures();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].channel == kRight.name);

  // A std::bad_alloc itself is named as running out of host memory, with what to do.
  worker.submit_task(kRight, TaskFn<int>([](Backend&, TaskControl&) -> int { throw std::bad_alloc(); }));
  wait_done(worker, kRight);
  CHECK(worker.task_state(kRight).error ==
        "out of host memory (an allocation failed): try a smaller N, batch or head count");

  // The worker serves on, and a new submission clears the channel's failure.
  worker.submit_task(kRight, TaskFn<int>([](Backend&, TaskControl&) { return 5; }));
  wait_done(worker, kRight);
  const std::optional<int> five = worker.take_task_result(kRight);
  REQUIRE(five);
  CHECK(*five == 5);
  CHECK(worker.visible_failures().empty());
}

TEST_CASE("compute worker: a picture whose backend throws (out of memory, or not a std::exception) is an error, and the next picture is drawn") {
  ComputeWorker worker(std::make_unique<ThrowingPictureBackend>(2));
  worker.submit(picture_job(worker, 1));
  const ComputeResult oom = wait_picture(worker);
  CHECK(oom.generation == 1);
  CHECK_FALSE(oom.image.ok);
  CHECK(oom.error == "the picture failed: out of host memory (an allocation failed): try a smaller N, batch or head count");
  worker.submit(picture_job(worker, 2));
  const ComputeResult odd = wait_picture(worker);
  CHECK_FALSE(odd.image.ok);
  CHECK(odd.error == "the picture failed with an exception that is not a std::exception");
  worker.submit(picture_job(worker, 3));
  const ComputeResult drawn = wait_picture(worker);
  CHECK(drawn.generation == 3);
  CHECK(drawn.error.empty());
  CHECK(drawn.image.ok);
  CHECK(drawn.image.rows > 0);
}

TEST_CASE("TaskControl: during a long step the shown progress moves toward the step's goal with the time spent, never past it") {
  TaskControl control;
  control.progress = 0.2;
  const int64_t t0 = 1'000'000'000;
  CHECK(control.shown_progress(t0) == doctest::Approx(0.2));  // no step announced: the reported value
  control.set_step_goal(0.6, 2.0, t0);
  CHECK(control.shown_progress(t0) == doctest::Approx(0.2));
  CHECK(control.shown_progress(t0 + 1'000'000'000) == doctest::Approx(0.2 + 0.4 * 0.5 * 0.95));  // half the time
  const double late = control.shown_progress(t0 + 10'000'000'000);                                  // overran
  CHECK(late == doctest::Approx(0.2 + 0.4 * 0.95));
  CHECK(late < 0.6);  // the goal itself comes only from the step's own report
  control.progress = 0.6;  // the step ended
  CHECK(control.shown_progress(t0 + 10'000'000'000) == doctest::Approx(0.6));
  control.progress = 0.7;  // later reports are never held back by an old goal
  CHECK(control.shown_progress(t0 + 10'000'000'000) == doctest::Approx(0.7));
  // A step that overran: the next report is below what was shown; the bar does not go back.
  control.set_step_goal(0.9, 1.0, t0);
  const double shown = control.shown_progress(t0 + 5'000'000'000);
  CHECK(shown == doctest::Approx(0.7 + 0.2 * 0.95));
  control.progress = 0.8;  // the step's report, below what was shown; the next step starts
  control.set_step_goal(0.85, 1.0, t0 + 5'000'000'000);
  CHECK(control.shown_progress(t0 + 5'000'000'000) == doctest::Approx(shown));
}
