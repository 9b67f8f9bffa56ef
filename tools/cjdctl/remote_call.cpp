#include "tools/cjdctl/remote_call.h"

#include <chrono>
#include <utility>

#include "tools/cjdctl/hub_error.h"

namespace cjd::ctl {

Remote::Remote(std::string group, std::string command, std::string hub, std::string token,
               int timeout_ms, std::ostream& err)
    : group_(std::move(group)),
      command_(std::move(command)),
      hub_(std::move(hub)),
      token_(std::move(token)),
      timeout_ms_(timeout_ms),
      err_(err) {}

int Remote::Check() {
  Result<http::HttpUrl> url = http::ParseHttpUrl(hub_);
  if (!url.ok()) return Usage("--hub: " + url.status().message());
  if (token_.empty()) {
    return Usage(
        "--token: the hub's admin token is required (--token, --token-file PATH or CJD_TOKEN)");
  }
  url_ = *url;
  client_.emplace(url_, std::chrono::milliseconds(timeout_ms_));
  client_->set_user_agent("cjdctl-" + group_ + "/" CJD_VERSION);
  return 0;
}

int Remote::Usage(const std::string& message) {
  err_ << "cjdctl " << group_ << ' ' << command_ << ": " << message << '\n';
  return 2;
}

int Remote::Fail(const std::string& message) {
  err_ << "cjdctl " << group_ << ' ' << command_ << ": " << message << '\n';
  return 1;
}

std::optional<std::string> Remote::CallBody(const std::string& method, const std::string& target,
                                            const std::string& body, int* status) {
  if (!client_) {
    Fail("internal error: the hub was not checked before " + target);
    return std::nullopt;
  }
  http::ClientResponse r = method == "POST" ? client_->Post(url_.prefix + target, body, token_)
                                            : client_->Get(url_.prefix + target, token_);
  if (status != nullptr) *status = r.status;
  if (r.status == 0) {
    Fail("cannot reach the hub at " + url_.ToString() + ": " + r.body);
    return std::nullopt;
  }
  if (r.status < 200 || r.status >= 300) {
    Fail("the hub answered HTTP " + std::to_string(r.status) + ": " + ParseHubError(r.body).text);
    return std::nullopt;
  }
  return std::move(r.body);
}

}  // namespace cjd::ctl
