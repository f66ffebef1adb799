// thread_pool.hpp — a small pool of persistent workers for the CPU twins.
// Tasks are dealt out one at a time from a shared counter (dynamic scheduling), so uneven tasks such as
// causal Q tiles balance across workers. The calling thread works too, as worker 0.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attnscope {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(task, worker) once for every task in [0, count); worker is in [0, size()).
  // Returns when every task has finished. Not reentrant: body must not call parallel_for on this pool.
  void parallel_for(int64_t count, const std::function<void(int64_t task, int worker)>& body);

 private:
  void worker_loop(int worker);
  void drain(int worker);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int)>* body_ = nullptr;
  int64_t count_ = 0;
  int64_t next_ = 0;        // next task to hand out (guarded by mutex_)
  int busy_ = 0;            // workers inside the current job
  uint64_t generation_ = 0; // bumped for each job, so sleeping workers know there is new work
  bool stop_ = false;
};

}  // namespace attnscope
