#include "core/thread_pool.h"

#include <sched.h>

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BITNET_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define BITNET_PAUSE() asm volatile("yield")
#else
#define BITNET_PAUSE() ((void)0)
#endif

namespace bitnet {

// How long a waiting thread spins before it sleeps (worker) or yields (caller): long enough to
// cover the gap between two ops of one decoded token (a few us), short enough that an
// oversubscribed machine (other processes on our cores) does not lose whole time slices to it.
static constexpr auto kSpinTime = std::chrono::microseconds(50);

namespace {
// Spins with pause until `done()` or the spin time passes; returns done().
template <typename Done>
bool spin_until(Done done) {
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      BITNET_PAUSE();
    }
    if (std::chrono::steady_clock::now() - t0 > kSpinTime) return done();
  }
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int t = 1; t < n_threads_; ++t) threads_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
    epoch_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& th : threads_) th.join();
}

void ThreadPool::dispatch(Trampoline t, void* ctx) {
  job_ = t;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    // The release store of epoch_ publishes job_/ctx_; the lock pairs with sleeping workers.
    std::lock_guard<std::mutex> lk(mu_);
    epoch_.fetch_add(1, std::memory_order_release);
  }
  if (sleepers_.load(std::memory_order_relaxed) > 0) cv_.notify_all();
  t(ctx, 0, n_threads_);
  auto all_done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  while (!spin_until(all_done)) sched_yield();
}

void ThreadPool::worker(int tid) {
  uint64_t seen = 0;
  for (;;) {
    auto woken = [&] { return epoch_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(woken)) {
      std::unique_lock<std::mutex> lk(mu_);
      sleepers_.fetch_add(1);
      cv_.wait(lk, woken);
      sleepers_.fetch_sub(1);
    }
    seen = epoch_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    job_(ctx_, tid, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::split(int64_t n, int64_t align, int tid, int nth, int64_t* begin, int64_t* end) {
  if (align < 1) align = 1;
  const int64_t units = (n + align - 1) / align;
  const int64_t per = units / nth, rem = units % nth;
  int64_t b = tid * per + (tid < rem ? tid : rem);
  int64_t e = b + per + (tid < rem ? 1 : 0);
  *begin = b * align < n ? b * align : n;
  *end = e * align < n ? e * align : n;
}

int default_thread_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

}  // namespace bitnet
