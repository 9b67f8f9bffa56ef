// Browser: Debian's headless Chromium driven over the DevTools protocol, for the dashboard's
// end-to-end tests. It starts /usr/bin/chromium (or $CJD_CHROMIUM) with a fresh profile in a
// folder of the caller's, remote debugging on a loopback port the browser picks, and every
// host but 127.0.0.1 mapped to nowhere (no request ever leaves the machine); it then talks to
// the one page over a WebSocket (Boost.Beast).
//
//   if (auto why = Browser::Unavailable(); !why.empty()) GTEST_SKIP() << why;
//   Browser b(dir / "chromium");
//   b.Navigate("http://127.0.0.1:" + port + "/ui/#token=...");
//   ASSERT_TRUE(b.WaitFor("document.querySelector('[data-field=orders]') !== null"));
//   json orders = b.Eval("document.querySelector('[data-field=orders] .value').textContent");
//   b.Screenshot(dir / "overview.png");
//
// Every call is bounded in time; a protocol error or a script exception throws
// std::runtime_error with the browser's message. One thread at a time.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace cjd::testing {

class Browser {
 public:
  // Why the browser tests cannot run here ("" when they can): no chromium binary.
  static std::string Unavailable();

  // Starts the browser (throws std::runtime_error when it does not come up within 60 s).
  // `profile_dir` is created; the browser's log goes to profile_dir/../chromium.log.
  explicit Browser(const std::filesystem::path& profile_dir, int width = 1280, int height = 900);
  ~Browser();
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // One DevTools command on the page; its "result".
  nlohmann::json Call(const std::string& method, const nlohmann::json& params = nlohmann::json::object());
  // Evaluates a JavaScript expression in the page (promises awaited); its value.
  nlohmann::json Eval(const std::string& expression);
  // Polls `expression` until it is truthy (true) or `timeout` passes (false).
  bool WaitFor(const std::string& expression,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Loads `url` and waits for the document to be complete.
  void Navigate(const std::string& url);
  // Writes a PNG of the page (the whole page, not only the viewport).
  void Screenshot(const std::filesystem::path& png);
  // Messages the page logged to the console and uncaught exceptions, so far.
  const std::vector<std::string>& console() const { return console_; }

 private:
  struct Socket;
  nlohmann::json Await(int64_t id, std::chrono::milliseconds timeout);
  void OnEvent(const nlohmann::json& message);

  Process process_;
  std::unique_ptr<Socket> socket_;
  int64_t next_id_ = 1;
  std::vector<std::string> console_;
};

}  // namespace cjd::testing
