// test_compute_worker.cpp — the worker's typed task channels without a display: a result comes back as its own type
// through its channel, once; a task that throws leaves its message as the channel's error and the worker goes on.
#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "app/gui/runtime/compute_worker.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

constexpr TaskChannel<int> kNumber{"test.number"};
constexpr TaskChannel<std::string> kText{"test.text"};

// Waits until the channel has neither a pending nor a running task.
template <class T>
void wait_done(ComputeWorker& worker, TaskChannel<T> channel) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const TaskState s = worker.task_state(channel);
    if (!s.pending && !s.running) return;
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
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
