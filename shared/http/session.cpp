// One HTTP/1.1 connection, in the style of the Boost.Beast 1.74 async server example:
// DoRead/OnRead -> handler -> OnResponse -> DoWrite/OnWrite -> DoRead ...
#include "shared/http/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <limits>
#include <iostream>
#include <string>
#include <utility>

namespace cjd::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// How long an error response waits for the client to stop sending before the socket is closed.
constexpr std::chrono::milliseconds kMaxLinger{5000};
// Room in the read buffer beyond header_limit: body bytes read together with the header, a
// chunk-size line with its extensions, a trailer. The parser consumes body bytes as they come,
// so the body itself never needs it.
constexpr size_t kBufferSlack = 16 * 1024;

// Beast 1.74 hands out boost::string_view.
std::string_view Std(beast::string_view s) { return {s.data(), s.size()}; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in` ('+' becomes a space when `plus_is_space`). False on a malformed escape.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

// Splits a request target into its decoded path and query parameters. A parameter without '='
// has an empty value; when a name repeats, the first value is kept.
bool ParseTarget(std::string_view target, Request* request) {
  const size_t q = target.find('?');
  if (!PercentDecode(target.substr(0, q), false, &request->path)) return false;
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  const size_t fragment = rest.find('#');
  if (fragment != std::string_view::npos) rest = rest.substr(0, fragment);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string name;
    std::string value;
    if (!PercentDecode(pair.substr(0, eq), true, &name)) return false;
    if (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, &value)) {
      return false;
    }
    request->query.emplace(std::move(name), std::move(value));
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsHttpParseError(beast::error_code ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

// Held (through shared_ptr copies) by the Responder the handler gets. When the last copy goes
// away without a call, the session is told so that the client is not left waiting.
struct ResponderToken {
  explicit ResponderToken(std::shared_ptr<PendingReply> r) : reply(std::move(r)) {}
  ~ResponderToken() { reply->Deliver(std::nullopt); }
  ResponderToken(const ResponderToken&) = delete;
  ResponderToken& operator=(const ResponderToken&) = delete;
  std::shared_ptr<PendingReply> reply;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// PendingReply

void PendingReply::Deliver(std::optional<Response> response) {
  std::lock_guard<std::mutex> lock(mu_);
  if (session_ == nullptr) return;  // already answered, or the server stopped
  std::shared_ptr<Session> session = std::move(session_);
  // Kept here: the posted handler may run and destroy the session before this returns.
  const std::shared_ptr<ServerState> state = session->state_;
  // Posted (never run inline) even from the session's own strand, so that a handler calling the
  // Responder synchronously returns before the write starts. Posting happens under mu_, so once
  // Detach() has run no handler can reach the (stopped) io_context any more; and inside the
  // server's post gate, so that the executor copy is gone before Stop() lets the io_context be
  // destroyed (a Responder answering from a worker thread while the server is torn down). When
  // the gate is closed the server is stopping: Stop() holds the session and closes it.
  state->PostIfOpen([&] {
    auto executor = session->stream_.get_executor();
    net::post(executor, [session = std::move(session), response = std::move(response)]() mutable {
      session->OnResponse(std::move(response));
    });
  });
}

void PendingReply::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  session_.reset();
}

// ---------------------------------------------------------------------------------------------
// Session

Session::Session(tcp::socket&& socket, std::shared_ptr<ServerState> state)
    : state_(std::move(state)),
      stream_(std::move(socket)),
      buffer_(state_->options().header_limit + kBufferSlack) {}

Session::~Session() { state_->Unregister(this); }

void Session::Run() {
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&Session::DoRead, shared_from_this()));
}

void Session::Evict() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    self->stream_.close();  // the pending read ends with operation_aborted
  });
}

void Session::CloseForStop() {
  if (pending_ != nullptr) pending_->Detach();
  pending_.reset();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

void Session::DoRead() {
  if (!state_->EnterIdle(this)) return;  // evicted: the socket closes with the session
  const ServerOptions& options = state_->options();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(options.header_limit, std::numeric_limits<std::uint32_t>::max())));
  parser_->body_limit(options.body_limit);
  request_ = Request{};
  stream_.expires_after(std::chrono::milliseconds(options.header_timeout_ms));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
}

void Session::OnReadHeader(beast::error_code ec, std::size_t bytes) {
  // Evicted to make room for a newcomer while waiting: Evict() closes the socket.
  if (!state_->LeaveIdle(this)) return;
  started_ = std::chrono::steady_clock::now();
  route_ = "other";
  method_.clear();
  if (ec) return OnRead(ec, bytes);  // one place decides between 400, 413, 431 and closing
  const auto& header = parser_->get();
  version_ = header.version();
  keep_alive_ = header.keep_alive();
  request_.method = std::string(Std(header.method_string()));
  for (const auto& field : header) {
    std::string name = Lower(Std(field.name_string()));
    auto [it, inserted] = request_.headers.emplace(std::move(name), std::string(Std(field.value())));
    if (!inserted) {  // a repeated header is one comma-separated list (RFC 9110 5.3)
      it->second += ", ";
      it->second += Std(field.value());
    }
  }
  method_ = request_.method;
  if (!ParseTarget(Std(header.target()), &request_)) {
    return AnswerHead(JsonError(400, "bad_request", "malformed request target"));
  }
  if (state_->options().route_label) route_ = state_->options().route_label(request_);
  if (const Authorizer& authorize = state_->authorize()) {
    std::optional<Response> refusal;
    try {
      refusal = authorize(request_);
    } catch (const std::exception& e) {
      refusal = JsonError(500, "internal", std::string("authorization failed: ") + e.what());
    } catch (...) {
      refusal = JsonError(500, "internal", "authorization failed");
    }
    if (refusal.has_value()) return AnswerHead(std::move(*refusal));
  }
  // The body, if any, has its own timeout from here on.
  stream_.expires_after(std::chrono::milliseconds(state_->options().request_timeout_ms));
  if (!parser_->is_done() && beast::iequals(header[bhttp::field::expect], "100-continue")) {
    // The body fits the limit (else body_limit would have been reported): ask for it now rather
    // than let the client wait (curl waits a second before sending it anyway).
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return net::async_write(
        stream_, net::buffer(kContinue.data(), kContinue.size()),
        beast::bind_front_handler(&Session::OnContinueWritten, shared_from_this()));
  }
  DoReadBody();
}

void Session::AnswerHead(Response&& response) {
  // Without a body the request is complete and the connection can stay open; with one, the body
  // is never read: close, draining what the client still sends.
  const bool body_left = !parser_->is_done();
  linger_ = body_left;
  DoWrite(std::move(response), body_left || !keep_alive_);
}

void Session::OnContinueWritten(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) return Fail(ec, "write 100-continue");
  DoReadBody();
}

void Session::DoReadBody() {
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::OnRead, shared_from_this()));
}

void Session::OnRead(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec == bhttp::error::end_of_stream) return DoClose();
  if (ec) version_ = parser_->is_header_done() ? parser_->get().version() : 11;
  if (ec == bhttp::error::body_limit) {
    linger_ = true;
    return DoWrite(JsonError(413, "payload_too_large",
                             "request body exceeds " +
                                 std::to_string(state_->options().body_limit) + " bytes"),
                   true);
  }
  if (ec == bhttp::error::header_limit) {
    linger_ = true;
    return DoWrite(JsonError(431, "header_too_large",
                             "request header exceeds " +
                                 std::to_string(state_->options().header_limit) + " bytes"),
                   true);
  }
  if (ec == bhttp::error::buffer_overflow) {
    // Only a chunk-size line (with its extensions) or a trailer can outgrow the buffer.
    linger_ = true;
    return DoWrite(JsonError(400, "bad_request",
                             "chunk header or trailer exceeds " +
                                 std::to_string(buffer_.max_size()) + " bytes"),
                   true);
  }
  if (ec && IsHttpParseError(ec)) {
    linger_ = true;
    return DoWrite(JsonError(400, "bad_request", "malformed HTTP request: " + ec.message()),
                   true);
  }
  if (ec) return Fail(ec, "read");
  request_.body = std::move(parser_->get().body());
  parser_.reset();
  Dispatch();
}

void Session::Dispatch() {
  pending_ = std::make_shared<PendingReply>(shared_from_this());
  auto token = std::make_shared<ResponderToken>(pending_);
  Responder responder = [token](Response response) { token->reply->Deliver(std::move(response)); };
  token.reset();
  try {
    state_->handler()(std::move(request_), responder);
  } catch (const std::exception& e) {
    responder(JsonError(500, "internal", std::string("handler failed: ") + e.what()));
  } catch (...) {
    responder(JsonError(500, "internal", "handler failed"));
  }
}

void Session::OnResponse(std::optional<Response> response) {
  pending_.reset();
  if (!response.has_value()) {
    // The handler dropped its Responder: answer for it, then close.
    return DoWrite(JsonError(500, "internal", "the request was dropped without a response"),
                   true);
  }
  DoWrite(std::move(*response), !keep_alive_);
}

void Session::DoWrite(Response&& response, bool close) {
  auto& res = response_.emplace();
  res.version(version_);
  res.result(response.status >= 100 && response.status <= 999
                 ? static_cast<unsigned>(response.status)
                 : 500u);
  if (!response.content_type.empty()) res.set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) {
    const std::string lower = Lower(name);
    if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection") {
      continue;  // framing is ours
    }
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      continue;  // never let a header break the framing
    }
    res.set(name, value);
  }
  if (prom::RequestMetrics* metrics = state_->options().request_metrics) {
    const auto elapsed = std::chrono::steady_clock::now() - started_;
    metrics->Observe(route_, method_.empty() ? "unknown" : method_,
                     static_cast<int>(res.result_int()),
                     std::chrono::duration<double>(elapsed).count());
  }
  res.body() = std::move(response.body);
  res.keep_alive(!close);
  res.prepare_payload();
  stream_.expires_after(std::chrono::milliseconds(state_->options().request_timeout_ms));
  bhttp::async_write(stream_, res,
                     beast::bind_front_handler(&Session::OnWrite, shared_from_this(), close));
}

void Session::OnWrite(bool close, beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) return Fail(ec, "write");
  response_.reset();
  if (close) return linger_ ? DoLinger() : DoClose();
  DoRead();
}

void Session::DoLinger() {
  // Nothing more to do for this client: evictable, like an idle connection.
  if (!state_->EnterIdle(this)) return;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return;  // the session ends and the socket closes
  stream_.expires_after(
      std::min(kMaxLinger, std::chrono::milliseconds(state_->options().request_timeout_ms)));
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(16 * 1024),
                          beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
}

void Session::OnLinger(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) return;  // end of stream, timeout or reset: done, the socket closes with the session
  // Discarded: the bytes were never committed to buffer_. The expiry set in DoLinger() still
  // bounds the whole drain.
  stream_.async_read_some(buffer_.prepare(16 * 1024),
                          beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
}

void Session::DoClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  // Nothing else pending: the session, and with it the socket, goes away.
}

void Session::Fail(beast::error_code ec, const char* where) {
  // The usual ends of a connection are not worth a line in the log.
  if (ec == net::error::operation_aborted || ec == beast::error::timeout ||
      ec == net::error::eof || ec == net::error::connection_reset ||
      ec == net::error::broken_pipe || ec == net::error::not_connected ||
      ec == bhttp::error::end_of_stream) {
    return;
  }
  std::cerr << "cjd http: " << where << ": " << ec.message() << "\n";
}

}  // namespace cjd::http
