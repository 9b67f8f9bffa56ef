// Helpers of the HTTP server tests: a raw blocking client, a worker thread, a recording handler.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shared/http/server.h"

namespace cjd::http::test {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ClientResponse = bhttp::response<bhttp::string_body>;

// A blocking HTTP/1.1 client on one connection.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  ClientResponse Send(bhttp::request<bhttp::string_body> req) {
    req.version(11);
    req.set(bhttp::field::host, "127.0.0.1");
    req.prepare_payload();
    bhttp::write(socket_, req);
    return Read();
  }

  ClientResponse Get(const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    for (const auto& [name, value] : headers) req.set(name, value);
    return Send(std::move(req));
  }

  ClientResponse Post(const std::string& target, std::string body) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
    req.body() = std::move(body);
    return Send(std::move(req));
  }

  void WriteRaw(std::string_view bytes) { net::write(socket_, net::buffer(bytes)); }

  ClientResponse Read() {
    ClientResponse res;
    bhttp::read(socket_, buffer_, res);
    return res;
  }

  // True when the server has closed the connection (the next read fails).
  bool ReadsClosed() {
    beast::error_code ec;
    char byte;
    socket_.read_some(net::buffer(&byte, 1), ec);
    return static_cast<bool>(ec);
  }

  // True when the server closes the connection within `limit` (a bound against hanging, not a
  // measurement); false if it is still open then.
  bool ClosedWithin(std::chrono::milliseconds limit) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
    return ReadsClosed();
  }

  // True when something (a response, or the close) arrives within `limit`.
  bool ReadableWithin(std::chrono::milliseconds limit) {
    if (buffer_.size() > 0) return true;
    pollfd p{socket_.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
  }

  // Writes what it can; false once the server has closed or reset the connection.
  bool TryWriteRaw(std::string_view bytes) {
    beast::error_code ec;
    net::write(socket_, net::buffer(bytes), ec);
    return !ec;
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// Runs jobs on its own thread, like the agent's database writer answering after a commit.
class Worker {
 public:
  Worker() : thread_([this] { Loop(); }) {}
  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return done_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

inline Response Text(std::string body, int status = 200) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = "text/plain";
  return r;
}

inline nlohmann::json ErrorOf(const ClientResponse& res) {
  return nlohmann::json::parse(res.body()).at("error");
}

inline std::unique_ptr<Server> StartServer(Handler handler, ServerOptions options = {},
                                           Authorizer authorize = nullptr) {
  auto server = std::make_unique<Server>(options, std::move(handler), std::move(authorize));
  Status st = server->Start();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_NE(server->port(), 0);
  return server;
}

// Records the last request the handler saw.
struct Recorder {
  std::mutex mu;
  Request last;
  int calls = 0;
  Handler Echo() {
    return [this](Request&& req, Responder respond) {
      {
        std::lock_guard<std::mutex> lock(mu);
        last = req;
        ++calls;
      }
      respond(Text(req.method + " " + req.path + " " + req.body));
    };
  }
  Request Last() {
    std::lock_guard<std::mutex> lock(mu);
    return last;
  }
  int Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
};

}  // namespace cjd::http::test
