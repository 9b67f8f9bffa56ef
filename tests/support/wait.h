// WaitUntil: poll a condition until it holds or a deadline passes. Never waits unbounded.
#pragma once

#include <chrono>
#include <functional>

namespace cjd::testing {

// Calls `pred` right away, then every `poll` until it returns true (-> true) or `timeout` has
// passed (-> false; `pred` is evaluated one last time at the deadline). Runs on the caller's
// thread; `pred` must not block for long.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(50));

}  // namespace cjd::testing
