// Remote: what the cjdctl commands that call the hub's admin API share (segments, predictions):
// the --hub URL and the token checked, one keep-alive client, and the hub's answers turned into
// JSON objects or printed errors. Every message starts "cjdctl GROUP COMMAND: ", e.g.
// "cjdctl segments export: the hub answered HTTP 404: not_found: ... (field id)"; the client
// identifies itself as "cjdctl-GROUP/VERSION".
// Exit codes as the commands use them: 2 usage errors (Usage), 1 everything else (Fail).
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "shared/http/client.h"

namespace cjd::ctl {

class Remote {
 public:
  // `group` and `command` name the command ("segments", "export"). `hub` is http://HOST:PORT,
  // `token` the bearer token (admin), `timeout_ms` bounds each request.
  Remote(std::string group, std::string command, std::string hub, std::string token,
         int timeout_ms, std::ostream& err);

  // 0 when usable, else the exit code (2; the usage error naming --hub or --token was printed).
  int Check();

  // Print "cjdctl GROUP COMMAND: message"; return 2 (Usage) or 1 (Fail).
  int Usage(const std::string& message);
  int Fail(const std::string& message);

  // The body of the hub's 2xx answer; nullopt after printing why not (unreachable, non-2xx with
  // the hub's error). `status` (if given) gets the HTTP status (0: no answer). Check() first.
  std::optional<std::string> CallBody(const std::string& method, const std::string& target,
                                      const std::string& body = "", int* status = nullptr);

  // The JSON object the hub answered with 2xx; nullopt after printing why not. `Json` is
  // nlohmann::json or nlohmann::ordered_json (keeps the hub's member order).
  template <class Json = nlohmann::json>
  std::optional<Json> Call(const std::string& method, const std::string& target,
                           const std::string& body = "", int* status = nullptr) {
    std::optional<std::string> text = CallBody(method, target, body, status);
    if (!text) return std::nullopt;
    Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      Fail("the hub's answer to " + target + " is not a JSON object");
      return std::nullopt;
    }
    return j;
  }

 private:
  std::string group_, command_, hub_, token_;
  int timeout_ms_;
  std::ostream& err_;
  http::HttpUrl url_;
  std::optional<http::HttpClient> client_;
};

}  // namespace cjd::ctl
