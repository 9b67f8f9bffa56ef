#include "tests/support/browser.h"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/http_client.h"

namespace cjd::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using json = nlohmann::json;

std::string ChromiumPath() {
  if (const char* p = std::getenv("CJD_CHROMIUM"); p != nullptr && *p != '\0') return p;
  return "/usr/bin/chromium";
}

std::string Base64Decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) continue;  // '=' padding, line breaks
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace

struct Browser::Socket {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
};

std::string Browser::Unavailable() {
  const std::string path = ChromiumPath();
  if (access(path.c_str(), X_OK) != 0) {
    return "no Chromium at " + path +
           " (tests/run.sh installs Debian's chromium; or set CJD_CHROMIUM): the browser tests "
           "of the dashboard cannot run";
  }
  return "";
}

Browser::Browser(const std::filesystem::path& profile_dir, int width, int height) {
  std::filesystem::create_directories(profile_dir);
  const std::filesystem::path port_file = profile_dir / "DevToolsActivePort";
  std::filesystem::remove(port_file);
  process_ = Process::Start(
      {ChromiumPath(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
       "--no-first-run", "--no-default-browser-check", "--disable-extensions",
       "--disable-background-networking", "--disable-component-update", "--disable-sync",
       "--disable-default-apps", "--disable-domain-reliability", "--metrics-recording-only",
       "--password-store=basic", "--use-mock-keychain", "--mute-audio", "--hide-scrollbars",
       // Nothing but loopback: every name resolves to nowhere.
       "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
       "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
       "--remote-allow-origins=*", "--user-data-dir=" + profile_dir.string(),
       "--window-size=" + std::to_string(width) + "," + std::to_string(height), "about:blank"},
      profile_dir.parent_path() / "chromium.log");
  // The browser writes the port it listens on into the profile folder.
  int port = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (port == 0) {
    std::ifstream in(port_file);
    if (in >> port && port > 0) break;
    port = 0;
    if (!process_.Running()) {
      throw std::runtime_error("chromium exited at start: " + process_.LogTail());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("chromium wrote no DevToolsActivePort in 60 s: " + process_.LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The page to drive.
  std::string ws_path;
  HttpClient http(static_cast<uint16_t>(port), std::chrono::seconds(10));
  while (ws_path.empty()) {
    HttpResponse r = http.Get("/json/list");
    if (r.status == 200) {
      json list = json::parse(r.body, nullptr, false);
      if (list.is_array()) {
        for (const json& t : list) {
          if (t.value("type", "") == "page" && t.contains("webSocketDebuggerUrl")) {
            const std::string url = t["webSocketDebuggerUrl"];
            const size_t at = url.find("/devtools/");
            if (at != std::string::npos) ws_path = url.substr(at);
            break;
          }
        }
      }
    }
    if (ws_path.empty()) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("chromium lists no page to drive: " + r.body);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  socket_ = std::make_unique<Socket>();
  beast::get_lowest_layer(socket_->ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(socket_->ws)
      .connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                       static_cast<uint16_t>(port)));
  beast::get_lowest_layer(socket_->ws).expires_never();
  socket_->ws.read_message_max(64u << 20);  // screenshots
  socket_->ws.handshake("127.0.0.1:" + std::to_string(port), ws_path);
  Call("Runtime.enable");
  Call("Page.enable");
  Call("Emulation.setFocusEmulationEnabled", {{"enabled", true}});  // keys reach the page
  Call("Emulation.setDeviceMetricsOverride",
       {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}});
}

Browser::~Browser() {
  if (socket_) {
    beast::error_code ec;
    beast::get_lowest_layer(socket_->ws).socket().close(ec);
  }
  if (process_.Running()) process_.Terminate(std::chrono::seconds(10));
}

json Browser::Await(int64_t id, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    beast::flat_buffer buffer;
    bool done = false;
    beast::error_code ec;
    socket_->ws.async_read(buffer, [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    socket_->ioc.restart();
    socket_->ioc.run_until(deadline);
    if (!done) {
      beast::get_lowest_layer(socket_->ws).cancel();
      socket_->ioc.restart();
      socket_->ioc.run();
      throw std::runtime_error("DevTools: no answer to command " + std::to_string(id) + " in time");
    }
    if (ec) throw std::runtime_error("DevTools connection: " + ec.message());
    json message = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    if (message.is_discarded()) continue;
    if (message.contains("id") && message["id"] == id) {
      if (message.contains("error")) {
        throw std::runtime_error("DevTools: " + message["error"].dump());
      }
      return message.value("result", json::object());
    }
    if (message.contains("method")) OnEvent(message);
  }
}

void Browser::OnEvent(const json& message) {
  const std::string method = message["method"];
  const json& p = message.value("params", json::object());
  if (method == "Runtime.consoleAPICalled") {
    std::string line = p.value("type", "log") + ":";
    for (const json& a : p.value("args", json::array())) {
      line += " " + (a.contains("value") ? (a["value"].is_string() ? a["value"].get<std::string>()
                                                                     : a["value"].dump())
                                         : a.value("description", ""));
    }
    console_.push_back(line);
  } else if (method == "Runtime.exceptionThrown") {
    const json& d = p.value("exceptionDetails", json::object());
    console_.push_back("exception: " + d.value("text", "") + " " +
                       (d.contains("exception") ? d["exception"].value("description", "") : ""));
  }
}

json Browser::Call(const std::string& method, const json& params) {
  const int64_t id = next_id_++;
  const std::string text = json{{"id", id}, {"method", method}, {"params", params}}.dump();
  socket_->ws.text(true);
  socket_->ws.write(asio::buffer(text));
  return Await(id, std::chrono::seconds(60));
}

json Browser::Eval(const std::string& expression) {
  json r = Call("Runtime.evaluate", {{"expression", expression},
                                     {"awaitPromise", true},
                                     {"returnByValue", true}});
  if (r.contains("exceptionDetails")) {
    const json& d = r["exceptionDetails"];
    throw std::runtime_error("script: " + expression.substr(0, 200) + ": " +
                             (d.contains("exception") ? d["exception"].value("description", "")
                                                      : d.value("text", "")));
  }
  return r["result"].value("value", json());
}

bool Browser::WaitFor(const std::string& expression, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    json v = Eval("!!(" + expression + ")");
    if (v.is_boolean() && v.get<bool>()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Browser::Navigate(const std::string& url) {
  json r = Call("Page.navigate", {{"url", url}});
  if (r.contains("errorText") && !r["errorText"].get<std::string>().empty()) {
    throw std::runtime_error("navigate " + url + ": " + r["errorText"].get<std::string>());
  }
  if (!WaitFor("document.readyState === 'complete'")) {
    throw std::runtime_error("navigate " + url + ": the page did not finish loading");
  }
}

void Browser::Screenshot(const std::filesystem::path& png) {
  json m = Call("Page.getLayoutMetrics");
  const json& size = m.contains("cssContentSize") ? m["cssContentSize"] : m["contentSize"];
  json r = Call("Page.captureScreenshot",
                {{"format", "png"},
                 {"captureBeyondViewport", true},
                 {"clip", {{"x", 0}, {"y", 0}, {"width", size["width"]},
                           {"height", size["height"]}, {"scale", 1}}}});
  std::filesystem::create_directories(png.parent_path());
  std::ofstream out(png, std::ios::binary);
  out << Base64Decode(r["data"].get<std::string>());
}

}  // namespace cjd::testing
