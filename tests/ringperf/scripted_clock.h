#pragma once
// A clock for ringperf's tests that moves only when the scripted world is at
// rest, so that every figure the load generator measures is exact, however
// busy the machine is.
//
// The load generator's thread moves it, one step per reading, and only once
// every thread of the fake server waits for something that has not happened
// (a scripted time, a client's bytes, a slot) and the client has read every
// byte sent to it. So a byte is stamped with the time the script sent it at,
// and a request reaches the server at the time it was written.
//
// This needs the fake server on a Unix socket: bytes there reach the peer
// within send(), and SIOCOUTQ counts the bytes the peer has not read yet.
//
// Readings start at 1 s, in the monotonic clock's past: every deadline the
// load generator arms its timerfd with has passed, so its loop never sleeps
// and comes straight back here, where time moves.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <set>

#include "perf/ringperf/clock.h"

namespace rs::ringperf::test {

class ScriptedClock final : public Clock {
 public:
  static constexpr int64_t kStartNs = 1'000'000'000;
  static constexpr int64_t kStepNs = 1'000'000;
  // The client's CPU time runs at 1/kCpuShare of the clock's speed.
  static constexpr int64_t kCpuShare = 4;

  // The load generator's thread.
  int64_t now_ns() override;
  int64_t thread_cpu_ns() override;

  // The fake server's threads.
  int64_t time_ns();  // without moving it
  void sleep_until(int64_t deadline_ns);
  // Runs `wait`, which returns once `ready()` holds: time stands still while
  // `ready()` holds and the thread has not gone on.
  void block(const std::function<bool()>& ready, const std::function<void()>& wait);
  void thread_started();  // by whoever starts it, before it exists
  void thread_ended();
  void watch(int fd);  // a connection: time waits for the client to read what is sent on it
  void unwatch(int fd);
  void stop();  // every sleep ends at once from now on: the server is shutting down

 private:
  void settle(std::unique_lock<std::mutex>& lock);
  bool at_rest() const;
  bool client_has_unread_bytes() const;

  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t now_ = kStartNs;
  int running_ = 0;                                // server threads not blocked here
  std::list<const std::function<bool()>*> waits_;  // what each blocked thread waits for
  std::set<int> watched_;
  bool stopped_ = false;
};

}  // namespace rs::ringperf::test
