// A small fork-join thread pool for CPU kernels. The calling thread works as thread 0, workers
// spin briefly before sleeping: decode runs ~300 short ops per token, so wake-up latency matters
// more than idle CPU use. One pool per CPU backend; run() is not re-entrant.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace bitnet {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(tid, n_threads) once on every thread (tid 0 = caller) and waits for all.
  template <typename F>
  void run(F&& fn) {
    if (n_threads_ == 1) {
      fn(0, 1);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    dispatch([](void* ctx, int tid, int nth) { (*static_cast<Fn*>(ctx))(tid, nth); },
             const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // Splits [0, n) into chunks of `grain` and hands them out dynamically: fn(begin, end).
  template <typename F>
  void parallel_for(int64_t n, int64_t grain, F&& fn) {
    parallel_for_tid(n, grain, [&](int, int64_t b, int64_t e) { fn(b, e); });
  }
  // The same, telling fn which thread runs the chunk (for per-thread buffers): fn(tid, begin, end).
  template <typename F>
  void parallel_for_tid(int64_t n, int64_t grain, F&& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (n_threads_ == 1 || n <= grain) {
      fn(0, int64_t{0}, n);
      return;
    }
    std::atomic<int64_t> next{0};
    run([&](int tid, int) {
      for (;;) {
        int64_t b = next.fetch_add(grain, std::memory_order_relaxed);
        if (b >= n) break;
        fn(tid, b, b + grain < n ? b + grain : n);
      }
    });
  }

  // Static split of [0, n) into n_threads near-equal ranges, multiples of `align`.
  static void split(int64_t n, int64_t align, int tid, int nth, int64_t* begin, int64_t* end);

 private:
  using Trampoline = void (*)(void*, int, int);
  void dispatch(Trampoline t, void* ctx);
  void worker(int tid);

  int n_threads_;
  std::vector<std::thread> threads_;
  Trampoline job_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> sleepers_{0};
};

// Number of hardware threads to use by default (physical parallelism of this process).
int default_thread_count();

}  // namespace bitnet
