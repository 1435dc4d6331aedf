#include "tests/ringperf/scripted_clock.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace rs::ringperf::test {
namespace {

// Far longer than a fake-server thread needs to run on a loaded machine: past it, something deadlocked.
constexpr auto kSettleLimit = std::chrono::seconds(30);

}  // namespace

int64_t ScriptedClock::now_ns() {
  std::unique_lock lock(mutex_);
  settle(lock);
  if (client_has_unread_bytes()) return now_;  // they were sent at this time
  now_ += kStepNs;
  changed_.notify_all();
  settle(lock);  // what the script does at the new time is sent before the client looks
  return now_;
}

int64_t ScriptedClock::thread_cpu_ns() {
  std::lock_guard lock(mutex_);
  return (now_ - kStartNs) / kCpuShare;
}

int64_t ScriptedClock::time_ns() {
  std::lock_guard lock(mutex_);
  return now_;
}

void ScriptedClock::sleep_until(int64_t deadline_ns) {
  std::unique_lock lock(mutex_);
  const std::function<bool()> due = [&] { return now_ >= deadline_ns || stopped_; };
  --running_;
  waits_.push_back(&due);
  changed_.notify_all();
  changed_.wait(lock, due);
  waits_.remove(&due);
  ++running_;
}

void ScriptedClock::block(const std::function<bool()>& ready, const std::function<void()>& wait) {
  {
    std::lock_guard lock(mutex_);
    --running_;
    waits_.push_back(&ready);
    changed_.notify_all();
  }
  wait();
  std::lock_guard lock(mutex_);
  waits_.remove(&ready);
  ++running_;
}

void ScriptedClock::thread_started() {
  std::lock_guard lock(mutex_);
  ++running_;
}

void ScriptedClock::thread_ended() {
  std::lock_guard lock(mutex_);
  --running_;
  changed_.notify_all();
}

void ScriptedClock::watch(int fd) {
  std::lock_guard lock(mutex_);
  watched_.insert(fd);
}

void ScriptedClock::unwatch(int fd) {
  std::lock_guard lock(mutex_);
  watched_.erase(fd);
}

void ScriptedClock::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  changed_.notify_all();
}

void ScriptedClock::settle(std::unique_lock<std::mutex>& lock) {
  if (!changed_.wait_for(lock, kSettleLimit, [&] { return at_rest(); })) {
    throw std::runtime_error("the scripted fake server did not come to rest within 30 s");
  }
}

bool ScriptedClock::at_rest() const {
  return running_ == 0 && std::none_of(waits_.begin(), waits_.end(), [](const auto* ready) { return (*ready)(); });
}

bool ScriptedClock::client_has_unread_bytes() const {
  return std::any_of(watched_.begin(), watched_.end(), [](int fd) {
    int unread = 0;  // on a Unix socket: sent and not yet read by the peer
    return ioctl(fd, SIOCOUTQ, &unread) == 0 && unread > 0;
  });
}

}  // namespace rs::ringperf::test
