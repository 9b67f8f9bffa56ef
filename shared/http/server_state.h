// Private to shared/http: what the listener and every session share with the Server — the
// options, the handler and the registry of live sessions (for max_connections and for Stop()).
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "shared/http/server.h"

namespace cjd::http {

class Session;

// Shared (shared_ptr) by the Server, its listener and its sessions. Thread-safe.
class ServerState {
 public:
  ServerState(ServerOptions options, Handler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {}

  const ServerOptions& options() const { return options_; }
  // Called on I/O threads only; the handler is never replaced after construction.
  const Handler& handler() const { return handler_; }

  // Registers a new session; false (register nothing) when the server is stopping or already
  // has max_connections sessions.
  bool Register(const std::shared_ptr<Session>& session) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || sessions_.size() >= options_.max_connections) return false;
    sessions_.emplace(session.get(), session);
    return true;
  }
  // Called from ~Session.
  void Unregister(const Session* session) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(session);
  }
  // Marks the server as stopping (no more sessions) and returns the sessions still alive.
  std::vector<std::shared_ptr<Session>> BeginStop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    std::vector<std::shared_ptr<Session>> alive;
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) alive.push_back(std::move(s));
    }
    return alive;
  }

 private:
  const ServerOptions options_;
  const Handler handler_;
  std::mutex mu_;
  bool stopping_ = false;                                           // GUARDED_BY(mu_)
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions_;  // GUARDED_BY(mu_)
};

}  // namespace cjd::http
