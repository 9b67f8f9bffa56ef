#include "tools/cjdctl/report_command.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <vector>

#include "shared/event/json_exact.h"
#include "shared/http/client.h"
#include "tools/cjdctl/hub_error.h"

namespace cjd::ctl {
namespace {

using nlohmann::json;

constexpr size_t kMaxIdentifiersText = 100;

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// YYYY-MM-DD or YYYY-MM with month 01..12 and day 01..31 (the hub checks the rest).
bool IsDateOrMonth(const std::string& s) {
  if (s.size() != 7 && s.size() != 10) return false;
  if (!IsDigits(s.substr(0, 4)) || s[4] != '-' || !IsDigits(s.substr(5, 2))) return false;
  const int month = std::stoi(s.substr(5, 2));
  if (month < 1 || month > 12) return false;
  if (s.size() == 7) return true;
  if (s[7] != '-' || !IsDigits(s.substr(8, 2))) return false;
  const int day = std::stoi(s.substr(8, 2));
  return day >= 1 && day <= 31;
}

// A ratio: 2 to 4 decimals (trailing zeros beyond 2 dropped).
std::string FormatRatio(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  while (s.size() > 2 && s.back() == '0' && s[s.size() - 3] != '.') s.pop_back();
  return s;
}

// Money fields: printed as the hub wrote them, even if it sent a JSON number.
bool IsMoneyKey(std::string_view key) {
  return key == "revenue_gross" || key == "revenue_net" || key == "average_order_value" ||
         key == "clv_gross" || key == "clv_net";
}

bool IsRatioKey(std::string_view key) {
  return key == "purchase_frequency" || key == "repeat_purchase_rate" ||
         key == "customer_growth_rate";
}

enum class Kind { kAny, kMoney, kRatio };

// Any value as table text. Strings as given; money numbers as their text; ratios with 2-4
// decimals; other numbers as integers, or as ratios when they have a fraction; null or absent
// "-".
std::string Text(const json* v, Kind kind = Kind::kAny) {
  if (v == nullptr || v->is_null()) return "-";
  if (IsJsonNumber(*v)) {
    const bool integer = v->is_number_integer() || v->is_number_unsigned();
    if (kind == Kind::kMoney || (integer && kind != Kind::kRatio)) return JsonNumberText(*v);
    return FormatRatio(std::strtod(JsonNumberText(*v).c_str(), nullptr));
  }
  if (v->is_string()) return v->get<std::string>();
  if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
  return v->dump();
}

const json* Find(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string Text(const json& obj, const char* key) {
  const Kind kind = IsMoneyKey(key) ? Kind::kMoney : IsRatioKey(key) ? Kind::kRatio : Kind::kAny;
  return Text(Find(obj, key), kind);
}

// "email:ana@example.com, loyalty_id:L-1", cut to kMaxIdentifiersText.
std::string IdentifiersText(const json* ids) {
  if (ids == nullptr || !ids->is_array() || ids->empty()) return "-";
  std::string out;
  for (const json& id : *ids) {
    if (!out.empty()) out += ", ";
    if (id.is_object()) {
      out += Text(id, "type") + ":" + Text(id, "value");
    } else {
      out += Text(&id);
    }
  }
  if (out.size() > kMaxIdentifiersText) out = out.substr(0, kMaxIdentifiersText - 3) + "...";
  return out;
}

// A table with a header row; numeric columns right-aligned. The last column is not padded.
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<bool> right)
      : header_(std::move(header)), right_(std::move(right)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out, const std::string& indent) const {
    std::vector<size_t> width(header_.size());
    for (size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size();
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
        width[c] = std::max(width[c], row[c].size());
      }
    }
    const auto print_row = [&](const std::vector<std::string>& row) {
      std::string line = indent;
      for (size_t c = 0; c < header_.size(); ++c) {
        const std::string& cell = c < row.size() ? row[c] : std::string("-");
        const size_t pad = width[c] - std::min(width[c], cell.size());
        const bool last = c + 1 == header_.size();
        if (c > 0) line += "  ";
        if (right_[c]) line += std::string(pad, ' ');
        line += cell;
        if (!right_[c] && !last) line += std::string(pad, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << '\n';
    };
    print_row(header_);
    for (const auto& row : rows_) print_row(row);
  }

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

void PrintKeyValues(std::ostream& out, const json& obj, const std::vector<const char*>& keys) {
  size_t width = 0;
  for (const char* k : keys) width = std::max(width, std::string(k).size());
  std::vector<std::string> values;
  size_t value_width = 0;
  for (const char* k : keys) {
    values.push_back(Text(obj, k));
    value_width = std::max(value_width, values.back().size());
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string key = keys[i];
    out << "  " << key << std::string(width - key.size() + 2, ' ')
        << std::string(value_width - values[i].size(), ' ') << values[i] << '\n';
  }
}

}  // namespace

std::string MetricsTarget(const ReportOptions& o) {
  std::string target = "/v1/metrics";
  char sep = '?';
  const auto add = [&](const char* name, const std::string& value) {
    if (value.empty()) return;
    target += sep;
    target += name;
    target += '=';
    target += http::UrlEncode(value);
    sep = '&';
  };
  add("from", o.from);
  add("to", o.to);
  add("store", o.store);
  add("channel", o.channel);
  add("currency", o.currency);
  if (o.top > 0) add("top", std::to_string(o.top));
  return target;
}

Status RenderReport(const json& metrics, std::ostream& out) {
  if (!metrics.is_object()) {
    return Status::Invalid(std::string("the metrics are not a JSON object but ") +
                           JsonTypeName(metrics));
  }
  // The summary figures may sit at the top level or in a "summary" object.
  const json* summary_ptr = Find(metrics, "summary");
  const json& summary = summary_ptr && summary_ptr->is_object() ? *summary_ptr : metrics;

  std::string scope;
  for (const char* k : {"from", "to", "store", "channel"}) {
    const json* v = Find(metrics, k);
    if (v && v->is_string() && !v->get<std::string>().empty()) {
      scope += std::string(scope.empty() ? "" : ", ") + k + " " + v->get<std::string>();
    }
  }
  out << "Summary" << (scope.empty() ? "" : " (" + scope + ")") << '\n';
  PrintKeyValues(out, summary,
                 {"currency", "customers", "orders", "revenue_gross", "revenue_net",
                  "average_order_value", "purchase_frequency", "repeat_purchase_rate",
                  "clv_gross", "clv_net", "new_customers"});

  const json* totals = Find(metrics, "store_totals");
  if (!totals) totals = Find(summary, "store_totals");
  out << "\nStore totals (all orders, anonymous ones included)\n";
  PrintKeyValues(out, totals ? *totals : json::object(),
                 {"orders", "revenue_gross", "revenue_net", "returns_value", "anonymous_orders",
                  "credit_notes"});

  out << "\nMonthly\n";
  Table monthly({"month", "customers", "orders", "revenue_gross", "revenue_net", "new_customers",
                 "customer_growth_rate"},
                {false, true, true, true, true, true, true});
  const json* months = Find(metrics, "monthly");
  if (months && months->is_array()) {
    for (const json& m : *months) {
      monthly.Add({Text(m, "month"), Text(m, "customers"), Text(m, "orders"),
                   Text(m, "revenue_gross"), Text(m, "revenue_net"), Text(m, "new_customers"),
                   Text(m, "customer_growth_rate")});
    }
  }
  monthly.Print(out, "  ");

  out << "\nTop customers\n";
  Table top({"#", "profile_id", "orders", "revenue_gross", "identifiers"},
            {true, true, true, true, false});
  const json* customers = Find(metrics, "top_customers");
  if (customers && customers->is_array()) {
    size_t rank = 0;
    for (const json& c : *customers) {
      top.Add({std::to_string(++rank), Text(c, "profile_id"), Text(c, "orders"),
               Text(c, "revenue_gross"), IdentifiersText(Find(c, "identifiers"))});
    }
  }
  top.Print(out, "  ");
  return Status::Ok();
}

int RunReport(const ReportOptions& o, std::ostream& out, std::ostream& err) {
  const auto usage = [&](const std::string& message) {
    err << "cjdctl report: " << message << '\n';
    return 2;
  };
  Result<http::HttpUrl> url = http::ParseHttpUrl(o.hub);
  if (!url.ok()) return usage("--hub: " + url.status().message());
  if (o.token.empty()) return usage("--token: the hub's admin token is required (--token, --token-file PATH or CJD_TOKEN)");
  if (!o.from.empty() && !IsDateOrMonth(o.from)) {
    return usage("--from: '" + o.from + "' is not YYYY-MM-DD or YYYY-MM");
  }
  if (!o.to.empty() && !IsDateOrMonth(o.to)) {
    return usage("--to: '" + o.to + "' is not YYYY-MM-DD or YYYY-MM");
  }
  if (o.top < 0 || o.top > 1'000) return usage("--top: must be 1..1000");

  http::HttpClient client(*url, std::chrono::milliseconds(o.timeout_ms));
  client.set_user_agent("cjdctl-report/" CJD_VERSION);
  const http::ClientResponse r = client.Get(url->prefix + MetricsTarget(o), o.token);
  if (r.status == 0) {
    err << "cjdctl report: cannot reach the hub at " << url->ToString() << ": " << r.body << '\n';
    return 1;
  }
  if (r.status < 200 || r.status >= 300) {
    err << "cjdctl report: the hub answered HTTP " << r.status << ": "
        << ParseHubError(r.body).text << '\n';
    return 1;
  }
  if (o.json) {
    out << r.body;
    if (r.body.empty() || r.body.back() != '\n') out << '\n';
    return 0;
  }
  Result<json> metrics = ParseJsonExact(r.body);
  if (!metrics.ok()) {
    err << "cjdctl report: the hub's answer is not JSON: " << metrics.status().message() << '\n';
    return 1;
  }
  if (Status st = RenderReport(*metrics, out); !st.ok()) {
    err << "cjdctl report: " << st.message() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace cjd::ctl
