#include "tools/cjdctl/journeys_command.h"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "shared/http/client.h"
#include "tools/cjdctl/hub_error.h"

namespace cjd::ctl {
namespace {

using nlohmann::json;

std::string Cell(const json& obj, const char* key, int decimals = -1) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "-";
  if (it->is_number_float() || (decimals >= 0 && it->is_number())) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals < 0 ? 4 : decimals, it->get<double>());
    return buf;
  }
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s = " ";
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string& v = c < r.size() ? r[c] : std::string("-");
      s += " ";
      // The first column left-aligned, figures right-aligned.
      if (c == 0) {
        s += v + std::string(width[c] - v.size(), ' ');
      } else {
        s += std::string(width[c] - v.size(), ' ') + v;
      }
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void FunnelTable(const json& steps, const std::vector<std::string>& names, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& s = steps[i];
    rows.push_back({std::to_string(i + 1) + " " + (i < names.size() ? names[i] : ""),
                    Cell(s, "count"), Cell(s, "conversion_from_previous"),
                    Cell(s, "conversion_from_first"), Cell(s, "drop_off"),
                    Cell(s, "median_seconds_to_convert", 1), Cell(s, "p90_seconds_to_convert", 1)});
  }
  PrintTable(out, {"step", "count", "from_previous", "from_first", "drop_off", "median_s", "p90_s"},
             rows);
}

// GET or POST to the hub; the answer's JSON, or the exit code after printing the error.
int Ask(const std::string& command, const std::string& hub, const std::string& token,
        int timeout_ms, const std::string& target, const json* body, bool raw, json* answer,
        std::ostream& out, std::ostream& err) {
  Result<http::HttpUrl> url = http::ParseHttpUrl(hub);
  if (!url.ok()) {
    err << "cjdctl " << command << ": --hub: " << url.status().message() << '\n';
    return 2;
  }
  if (token.empty()) {
    err << "cjdctl " << command
        << ": --token: an admin or analyst token is required (--token, --token-file PATH or "
           "CJD_TOKEN)\n";
    return 2;
  }
  http::HttpClient client(*url, std::chrono::milliseconds(timeout_ms));
  client.set_user_agent("cjdctl-" + command + "/" CJD_VERSION);
  const http::ClientResponse r = body != nullptr
                                     ? client.Post(url->prefix + target, body->dump(), token)
                                     : client.Get(url->prefix + target, token);
  if (r.status == 0) {
    err << "cjdctl " << command << ": cannot reach the hub at " << url->ToString() << ": "
        << r.body << '\n';
    return 1;
  }
  if (r.status < 200 || r.status >= 300) {
    err << "cjdctl " << command << ": the hub answered HTTP " << r.status << ": "
        << ParseHubError(r.body).text << '\n';
    return 1;
  }
  if (raw) {
    out << r.body;
    if (r.body.empty() || r.body.back() != '\n') out << '\n';
    return 0;
  }
  *answer = json::parse(r.body, nullptr, false);
  if (answer->is_discarded() || !answer->is_object()) {
    err << "cjdctl " << command << ": the hub's answer is not a JSON object\n";
    return 1;
  }
  return -1;  // go on
}

}  // namespace

Result<json> FunnelBody(const FunnelOptions& o) {
  if (o.steps.empty()) return Status::Invalid("--step: give at least one step", "--step");
  json steps = json::array();
  for (size_t i = 0; i < o.steps.size(); ++i) {
    const std::string& s = o.steps[i];
    const size_t colon = s.find(':');
    json step = {{"type", s.substr(0, colon)}};
    if (colon != std::string::npos) {
      json where = json::object();
      std::string rest = s.substr(colon + 1);
      size_t at = 0;
      while (at <= rest.size()) {
        size_t comma = rest.find(',', at);
        if (comma == std::string::npos) comma = rest.size();
        const std::string kv = rest.substr(at, comma - at);
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
          return Status::Invalid("--step " + std::to_string(i + 1) + ": '" + kv +
                                     "' is not KEY=VALUE (TYPE:KEY=VALUE,...)",
                                 "--step");
        }
        where[kv.substr(0, eq)] = kv.substr(eq + 1);
        at = comma + 1;
      }
      step["where"] = std::move(where);
    }
    steps.push_back(std::move(step));
  }
  json body = {{"steps", std::move(steps)}};
  for (auto [key, value] : {std::pair<const char*, const std::string*>{"order", &o.order},
                            {"count_by", &o.count_by},
                            {"from", &o.from},
                            {"to", &o.to},
                            {"breakdown", &o.breakdown},
                            {"segment", &o.segment}}) {
    if (!value->empty()) body[key] = *value;
  }
  if (o.window_days > 0) body["window_days"] = o.window_days;
  return body;
}

void RenderWebReport(const json& m, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  for (const char* k : {"visitors", "sessions", "page_views", "product_views", "add_to_carts",
                        "orders", "page_views_per_session", "bounce_rate", "engagement_rate",
                        "add_to_cart_rate", "cart_abandonment_rate", "checkout_abandonment_rate",
                        "conversion_rate", "session_conversion_rate"}) {
    rows.push_back({k, Cell(m, k)});
  }
  out << "Web and commerce metrics\n";
  PrintTable(out, {"metric", "value"}, rows);
  rows.clear();
  for (const json& d : m.value("daily", json::array())) {
    rows.push_back({Cell(d, "date"), Cell(d, "visitors"), Cell(d, "sessions"),
                    Cell(d, "page_views"), Cell(d, "product_views"), Cell(d, "orders"),
                    Cell(d, "bounce_rate"), Cell(d, "conversion_rate")});
  }
  out << "\nDaily\n";
  PrintTable(out, {"date", "visitors", "sessions", "page_views", "product_views", "orders",
                   "bounce_rate", "conversion_rate"},
             rows);
}

int RunFunnel(const FunnelOptions& o, std::ostream& out, std::ostream& err) {
  Result<json> body = FunnelBody(o);
  if (!body.ok()) {
    err << "cjdctl funnel: " << body.status().message() << '\n';
    return 2;
  }
  json answer;
  const int rc = Ask("funnel", o.hub, o.token, o.timeout_ms, "/v1/funnels/query", &*body, o.json,
                     &answer, out, err);
  if (rc >= 0) return rc;
  std::vector<std::string> names;
  for (const json& s : (*body)["steps"]) names.push_back(s["type"].get<std::string>());
  FunnelTable(answer.value("steps", json::array()), names, out);
  if (answer.contains("breakdown")) {
    for (const json& b : answer["breakdown"]) {
      out << "\n" << o.breakdown << " " << b.value("value", std::string("(none)")) << '\n';
      FunnelTable(b.value("steps", json::array()), names, out);
    }
  }
  return 0;
}

int RunWebReport(const WebReportOptions& o, std::ostream& out, std::ostream& err) {
  std::string target = "/v1/metrics/web";
  char sep = '?';
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"from", &o.from},
                             {"to", &o.to},
                             {"channel", &o.channel},
                             {"store", &o.store},
                             {"segment", &o.segment}}) {
    if (value->empty()) continue;
    target += sep + std::string(name) + "=" + http::UrlEncode(*value);
    sep = '&';
  }
  json answer;
  const int rc = Ask("report web", o.hub, o.token, o.timeout_ms, target, nullptr, o.json, &answer,
                     out, err);
  if (rc >= 0) return rc;
  RenderWebReport(answer, out);
  return 0;
}

}  // namespace cjd::ctl
