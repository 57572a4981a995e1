// augur-loadtest: the bundled load-test tool. Only this file touches the real clock,
// sleeping and signals; everything else is in the loadtest library (commands.h).

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "loadtest/commands.h"

namespace {

std::atomic<bool> g_stop{false};

extern "C" void OnSignal(int) { g_stop.store(true); }

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Sleeps until unix time `t`, a signal or *cancel, in slices of at most 100 ms so that
// a signal or a cancel ends the wait promptly.
void SleepUntil(double t, const std::atomic<bool>* cancel) {
  while (!g_stop.load() && (cancel == nullptr || !cancel->load())) {
    const double left = t - UnixNow();
    if (left <= 0) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(left, 0.1)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil is built with absl::Mutex deadlock detection on: a global graph
  // updated on every lock gRPC takes, which costs a third of the throughput of small
  // calls (docs/scaler.md). Deadlocks are not detected at run time in release builds.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  loadtest::CommandEnv env;
  env.out = &std::cout;
  env.err = &std::cerr;
  env.stop = &g_stop;
  env.now = UnixNow;
  env.sleep_until = [](double t) { SleepUntil(t, nullptr); };
  env.wait_until = [](double t, const std::atomic<bool>& cancel) { SleepUntil(t, &cancel); };
  return loadtest::RunLoadtest(argc, argv, env);
}
