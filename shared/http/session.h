// Private to shared/http: one HTTP/1.1 connection. Reads a request header, asks the Authorizer,
// reads the body, hands the request to the handler, waits for the Responder, writes the response,
// and reads the next one (keep-alive). No pipelining: the next request is read only after the
// response is written.
//
// Bounds: the read buffer holds at most header_limit + kBufferSlack bytes; waiting for a header
// (idle keep-alive included) is limited by header_timeout_ms, the body and the write by
// request_timeout_ms. While it waits for a header, or drains after a refusal, the session is
// "idle" in the ServerState and may be evicted to make room for a new connection.
//
// Lifetime: owned by shared_ptr. Whatever async step is pending (a read, a write, or the
// handler's Responder via PendingReply) holds a reference, so the session lives until the last
// step completes. All members are touched only on the session's strand, or by Server::Stop()
// after the I/O threads have been joined.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "shared/http/server.h"
#include "shared/http/server_state.h"

namespace cjd::http {

class Session;

// The link from a Responder (callable from any thread) back to its session. The first Deliver()
// posts the response onto the session's strand; later ones do nothing. Server::Stop() calls
// Detach() so that a Responder that outlives the server touches nothing of it.
class PendingReply {
 public:
  explicit PendingReply(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  // Thread: any. `response` empty means the handler dropped the Responder: close the connection.
  void Deliver(std::optional<Response> response);
  // Thread: the Stop() caller, after the I/O threads are joined.
  void Detach();

 private:
  std::mutex mu_;
  std::shared_ptr<Session> session_;  // GUARDED_BY(mu_); null once delivered or detached
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ServerState> state);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts reading on the session's strand.
  void Run();
  // Closes the connection on the session's strand. Thread: any (the listener, after
  // ServerState::Register chose this session to make room).
  void Evict();
  // Closes the socket at once. REQUIRES: the I/O threads are stopped (Server::Stop()).
  void CloseForStop();

 private:
  friend class PendingReply;

  // The header is read first so that "Expect: 100-continue" can be answered before the body.
  void DoRead();
  void OnReadHeader(boost::beast::error_code ec, std::size_t bytes);
  // Answers at the header stage (the body, if any, is not read: close and drain after).
  void AnswerHead(Response&& response);
  void OnContinueWritten(boost::beast::error_code ec, std::size_t bytes);
  void DoReadBody();
  void OnRead(boost::beast::error_code ec, std::size_t bytes);
  void Dispatch();
  void OnResponse(std::optional<Response> response);
  void DoWrite(Response&& response, bool close);
  void OnWrite(bool close, boost::beast::error_code ec, std::size_t bytes);
  // After an error response: stop sending, read and discard what the client still sends (so
  // that closing does not reset the connection before the client has read the response).
  void DoLinger();
  void OnLinger(boost::beast::error_code ec, std::size_t bytes);
  void DoClose();
  void Fail(boost::beast::error_code ec, const char* where);

  std::shared_ptr<ServerState> state_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Request request_;  // the head of the request being read, from OnReadHeader on
  std::optional<boost::beast::http::response<boost::beast::http::string_body>> response_;
  std::shared_ptr<PendingReply> pending_;  // the reply the handler owes us, if any
  unsigned version_ = 11;      // of the request being answered
  bool keep_alive_ = false;    // the request asked to keep the connection open
  bool linger_ = false;        // unread input may remain: DoLinger() instead of DoClose()
  // For ServerOptions::request_metrics: when the request's header was read, its route label
  // and method.
  std::chrono::steady_clock::time_point started_{};
  std::string route_ = "other";
  std::string method_;
};

}  // namespace cjd::http
