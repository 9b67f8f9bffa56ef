// Private to shared/http: what the listener and every session share with the Server — the
// options, the handler, the authorizer and the registry of live sessions (for max_connections,
// the eviction of idle connections, and Stop()).
#pragma once

#include <cstdint>
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
  ServerState(ServerOptions options, Handler handler, Authorizer authorize)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        authorize_(std::move(authorize)) {}

  const ServerOptions& options() const { return options_; }
  // Called on I/O threads only; neither is replaced after construction. authorize() may be empty.
  const Handler& handler() const { return handler_; }
  const Authorizer& authorize() const { return authorize_; }

  // Registers a new session (busy until it calls EnterIdle). At max_connections, the session idle
  // for longest is marked evicted, no longer counted, and returned in *evict: the caller closes it
  // (Session::Evict). Returns false (registers nothing) when the server is stopping, or when it is
  // at the cap and no session is idle.
  bool Register(const std::shared_ptr<Session>& session, std::shared_ptr<Session>* evict) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    if (sessions_.size() - evicted_ >= options_.max_connections) {
      *evict = EvictOldestIdleLocked();
      if (*evict == nullptr) return false;
    }
    sessions_.emplace(session.get(), Entry{session});
    return true;
  }
  // Marks the longest-idle session evicted and returns it (the caller closes it), or null when
  // none is idle. For when accepting fails for want of file descriptors.
  std::shared_ptr<Session> EvictOldestIdle() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_ ? nullptr : EvictOldestIdleLocked();
  }
  // Called from ~Session.
  void Unregister(const Session* session) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return;
    if (it->second.evicted) --evicted_;
    sessions_.erase(it);
  }
  // The session waits for a request header (or drains after a refusal): it may be evicted.
  // False when it has been evicted already (the caller stops).
  bool EnterIdle(const Session* session) { return SetIdle(session, true); }
  // The session has a request header and goes on with the request: it is no longer evictable.
  // False when it was evicted before (the caller stops; its socket is being closed).
  bool LeaveIdle(const Session* session) { return SetIdle(session, false); }

  // Runs `post` (which reaches the io_context: an executor copy, a post) unless the server has
  // stopped, and returns whether it ran. Stop() closes the gate after joining the I/O threads and
  // before the io_context can be destroyed; closing waits for a post in progress, so a Responder
  // called from another thread never touches the io_context (or its strand service) while or
  // after ~Server destroys it.
  template <class F>
  bool PostIfOpen(F&& post) {
    std::lock_guard<std::mutex> lock(post_mu_);
    if (posts_closed_) return false;
    post();
    return true;
  }
  void ClosePosts() {
    std::lock_guard<std::mutex> lock(post_mu_);
    posts_closed_ = true;
  }

  // Marks the server as stopping (no more sessions) and returns the sessions still alive.
  std::vector<std::shared_ptr<Session>> BeginStop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    std::vector<std::shared_ptr<Session>> alive;
    for (auto& [ptr, entry] : sessions_) {
      if (auto s = entry.session.lock()) alive.push_back(std::move(s));
    }
    return alive;
  }

 private:
  struct Entry {
    std::weak_ptr<Session> session;
    uint64_t idle_since = 0;  // order of becoming idle (1, 2, ...); 0 while busy
    bool evicted = false;     // chosen to make room; no longer counted against the cap
  };

  // REQUIRES: mu_ is held.
  std::shared_ptr<Session> EvictOldestIdleLocked() {
    Entry* oldest = nullptr;
    for (auto& [ptr, entry] : sessions_) {
      if (entry.idle_since == 0 || entry.evicted) continue;
      if (oldest == nullptr || entry.idle_since < oldest->idle_since) oldest = &entry;
    }
    if (oldest == nullptr) return nullptr;
    std::shared_ptr<Session> victim = oldest->session.lock();
    if (victim == nullptr) return nullptr;  // being destroyed: its slot frees itself
    oldest->evicted = true;
    ++evicted_;
    return victim;
  }

  bool SetIdle(const Session* session, bool idle) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(session);
    if (it == sessions_.end() || it->second.evicted) return false;
    it->second.idle_since = idle ? ++idle_clock_ : 0;
    return true;
  }

  const ServerOptions options_;
  const Handler handler_;
  const Authorizer authorize_;
  std::mutex mu_;
  bool stopping_ = false;                                // GUARDED_BY(mu_)
  std::mutex post_mu_;  // PostIfOpen / ClosePosts
  bool posts_closed_ = false;  // guarded by post_mu_
  uint64_t idle_clock_ = 0;                              // GUARDED_BY(mu_)
  size_t evicted_ = 0;                                   // GUARDED_BY(mu_); entries with evicted
  std::unordered_map<const Session*, Entry> sessions_;  // GUARDED_BY(mu_)
};

}  // namespace cjd::http
