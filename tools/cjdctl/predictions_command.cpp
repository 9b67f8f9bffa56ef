#include "tools/cjdctl/predictions_command.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "tools/cjdctl/remote_call.h"

namespace cjd::ctl {
namespace {

using ojson = nlohmann::ordered_json;  // keeps the hub's member order for jsonl
using json = nlohmann::json;

// The page members that identify the fit every page must share.
constexpr const char* kFitMembers[] = {"as_of",       "horizon_days", "currency",
                                       "model",       "spend_model",  "correction"};

// The csv columns after profile_id and identifiers: JSON numbers (or null), predicted_clv a string.
constexpr const char* kValueColumns[] = {"purchase_days",          "recency_days", "age_days",
                                         "expected_purchase_days", "p_alive",      "churn_risk",
                                         "predicted_clv"};

std::string Dump(const ojson& v) {
  return v.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

// A member as text for messages and the summary: strings unquoted, absent or null "-".
std::string Text(const ojson& obj, const char* key) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return Dump(*it);
}

// RFC 4180: quoted (quotes doubled) when it holds a comma, a quote, CR or LF.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  q += '"';
  return q;
}

// Checks one customer against the endpoint's contract and renders it in `format`, LF-terminated.
// Empty `*why` when fine; else what is wrong (and `*line` is unspecified).
void RenderCustomer(const ojson& c, const std::string& format, std::string* line,
                    std::string* why) {
  why->clear();
  if (!c.is_object()) {
    *why = "is not an object";
    return;
  }
  const auto pid = c.find("profile_id");
  if (pid == c.end() || !pid->is_number_integer()) {
    *why = "has no integer profile_id";
    return;
  }
  const auto ids = c.find("identifiers");
  if (ids == c.end() || !ids->is_array()) {
    *why = "has no identifiers list";
    return;
  }
  std::string identifiers;
  for (const ojson& id : *ids) {
    const auto type = id.is_object() ? id.find("type") : id.end();
    const auto value = id.is_object() ? id.find("value") : id.end();
    if (!id.is_object() || type == id.end() || !type->is_string() || value == id.end() ||
        !value->is_string()) {
      *why = "has an identifier without string type and value";
      return;
    }
    if (!identifiers.empty()) identifiers += ';';
    identifiers += type->get<std::string>() + ':' + value->get<std::string>();
  }
  std::string fields;
  for (const char* key : kValueColumns) {
    const auto v = c.find(key);
    if (v == c.end()) {
      *why = std::string("has no ") + key;
      return;
    }
    const bool clv = std::string_view(key) == "predicted_clv";
    if (!(v->is_null() || v->is_number() || (clv && v->is_string()))) {
      *why = std::string("has a ") + key + " that is not " + (clv ? "a string" : "a number") +
             " or null";
      return;
    }
    fields += ',';
    if (v->is_string()) {
      fields += CsvField(v->get<std::string>());
    } else if (!v->is_null()) {
      fields += Dump(*v);  // nlohmann prints the shortest text that reads back the same double
    }
  }
  if (format == "jsonl") {
    *line = Dump(c) + '\n';
  } else {
    *line = Dump(*pid) + ',' + CsvField(identifiers) + fields + '\n';
  }
}

// The fit members of a page, compared regardless of member order; absent is null.
json Fit(const ojson& page) {
  json fit = json::object();
  for (const char* key : kFitMembers) {
    auto it = page.find(key);
    fit[key] = it == page.end() ? json(nullptr) : json::parse(Dump(*it), nullptr, false);
  }
  return fit;
}

// "model bg_nbd, fit ok, params r=0.24 alpha=4.4 a=0.79 b=2.4, log_likelihood -9582.4", or
// "spend_model none" when the hub sent null.
std::string ModelLine(const char* label, const ojson& page) {
  auto it = page.find(label);
  if (it == page.end() || it->is_null()) return std::string(label) + " none";
  const ojson& m = *it;
  std::string params = "-";
  if (m.is_object() && m.contains("params") && m["params"].is_object()) {
    params.clear();
    for (const auto& [k, v] : m["params"].items()) {
      if (!params.empty()) params += ' ';
      params += k + '=' + (v.is_string() ? v.get<std::string>() : Dump(v));
    }
  } else if (m.is_object()) {
    params = Text(m, "params");
  }
  return std::string(label) + ' ' + Text(m, "name") + ", fit " + Text(m, "fit") + ", params " +
         params + ", log_likelihood " + Text(m, "log_likelihood");
}

}  // namespace

bool ValidIsoDate(const std::string& date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (date[i] < '0' || date[i] > '9') return false;
  }
  const int y = std::stoi(date.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(date.substr(5, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(date.substr(8, 2)));
  return y >= 1 && std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m},
                                               std::chrono::day{d}}
                       .ok();
}

int RunPredictionsExport(const PredictionsOptions& o, std::ostream& out, std::ostream& err) {
  Remote remote("predictions", "export", o.hub, o.token, o.timeout_ms, err);
  if (o.format != "csv" && o.format != "jsonl") {
    return remote.Usage("--format: '" + o.format + "' is not csv or jsonl");
  }
  if (!o.as_of.empty() && !ValidIsoDate(o.as_of)) {
    return remote.Usage("--as-of: '" + o.as_of + "' is not a valid YYYY-MM-DD date");
  }
  if (o.horizon_days && (*o.horizon_days < 1 || *o.horizon_days > 3650)) {
    return remote.Usage("--horizon-days: " + std::to_string(*o.horizon_days) +
                        " is not 1..3650");
  }
  if (o.page_size < 1 || o.page_size > 10'000) {
    return remote.Usage("--page-size: " + std::to_string(o.page_size) + " is not 1..10000");
  }
  if (int rc = remote.Check(); rc != 0) return rc;

  std::ofstream file;
  const std::string tmp = o.out.empty() ? std::string() : o.out + ".part";
  if (!o.out.empty()) {
    file.open(tmp, std::ios::binary | std::ios::trunc);
    if (!file) return remote.Fail("--out: cannot write " + tmp);
  }
  std::ostream& sink = o.out.empty() ? out : file;
  const auto abandon = [&](int rc) {
    if (!o.out.empty()) {
      file.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
    }
    return rc;
  };
  const std::string write_error =
      o.out.empty() ? "cannot write to stdout" : "--out: cannot write " + tmp;

  std::string target_base = "/v1/predictions?";
  if (!o.as_of.empty()) target_base += "as_of=" + o.as_of + "&";
  if (o.horizon_days) target_base += "horizon_days=" + std::to_string(*o.horizon_days) + "&";
  target_base += "limit=" + std::to_string(o.page_size);

  ojson first;  // the first page without its customers: the fit, for the summary
  json first_fit;
  std::string customers_total = "-";
  std::optional<int64_t> after;
  int64_t written = 0;
  for (int page_no = 1;; ++page_no) {
    const std::string target =
        target_base + (after ? "&after=" + std::to_string(*after) : std::string());
    std::optional<ojson> page = remote.Call<ojson>("GET", target);
    if (!page) return abandon(1);
    const auto customers = page->find("customers");
    const auto next = page->find("next_after");
    if (customers == page->end() || !customers->is_array() || next == page->end()) {
      return abandon(remote.Fail("the hub's answer to " + target +
                                 " has no \"customers\" list or \"next_after\""));
    }
    const auto as_of = page->find("as_of");
    const auto horizon = page->find("horizon_days");
    const auto model = page->find("model");
    if (as_of == page->end() || !as_of->is_string() || horizon == page->end() ||
        !horizon->is_number_integer() || model == page->end() || !model->is_object()) {
      return abandon(remote.Fail("the hub's answer to " + target +
                                 " lacks as_of, an integer horizon_days or the model object"));
    }
    json fit = Fit(*page);
    if (page_no == 1) {
      if (!o.as_of.empty() && as_of->get<std::string>() != o.as_of) {
        return abandon(remote.Fail("the hub answered for as_of " + as_of->get<std::string>() +
                                   ", not the " + o.as_of + " asked for"));
      }
      if (o.horizon_days && horizon->get<int64_t>() != *o.horizon_days) {
        return abandon(remote.Fail("the hub answered for horizon_days " + Dump(*horizon) +
                                   ", not the " + std::to_string(*o.horizon_days) +
                                   " asked for"));
      }
      first = *page;
      first.erase("customers");
      first_fit = std::move(fit);
    } else if (fit != first_fit) {
      std::string what;
      for (const char* key : kFitMembers) {
        if (fit[key] != first_fit[key]) {
          what += std::string(what.empty() ? "" : "; ") + key + " " + first_fit[key].dump() +
                  " on page 1, " + fit[key].dump() + " on page " + std::to_string(page_no);
        }
      }
      return abandon(remote.Fail(
          "the pages come from different fits (the hub refitted during the export; run it "
          "again): " + what));
    }
    customers_total = Text(*page, "customers_total");

    std::string chunk;
    // The header once the hub has answered, so a failed first page prints nothing.
    if (page_no == 1 && o.format == "csv") chunk = std::string(kPredictionsCsvHeader) + '\n';
    std::string line, why;
    for (const ojson& c : *customers) {
      RenderCustomer(c, o.format, &line, &why);
      if (!why.empty()) {
        return abandon(remote.Fail("a customer in the answer to " + target + " " + why + ": " +
                                   Dump(c).substr(0, 300)));
      }
      chunk += line;
      ++written;
    }
    sink << chunk;
    if (!sink) return abandon(remote.Fail(write_error));

    if (next->is_null()) break;
    if (!next->is_number_integer()) {
      return abandon(remote.Fail("next_after in the answer to " + target + " is not an id"));
    }
    const int64_t next_after = next->get<int64_t>();
    if (after && next_after <= *after) {
      return abandon(remote.Fail("the hub's next_after " + std::to_string(next_after) +
                                 " does not move past " + std::to_string(*after)));
    }
    after = next_after;
  }
  sink.flush();
  if (!sink) return abandon(remote.Fail(write_error));
  if (!o.out.empty()) {
    file.close();
    if (!file) return abandon(remote.Fail(write_error));
    std::error_code ec;
    std::filesystem::rename(tmp, o.out, ec);
    if (ec) return abandon(remote.Fail("--out: cannot rename " + tmp + ": " + ec.message()));
  }

  const std::string prefix = "cjdctl predictions export: ";
  err << prefix << written << " customers written to " << (o.out.empty() ? "stdout" : o.out)
      << " (customers_total " << customers_total << "; as_of " << Text(first, "as_of")
      << ", horizon_days " << Text(first, "horizon_days") << ", currency "
      << Text(first, "currency") << ")\n";
  for (const char* label : {"model", "spend_model"}) {
    err << prefix << ModelLine(label, first) << '\n';
    const std::string fit_state = Text(first.value(label, ojson()), "fit");
    if (fit_state != "-" && fit_state != "ok") {
      err << prefix << "warning: the " << label << "'s fit is " << fit_state << ": "
          << (std::string_view(label) == "model"
                  ? "expected_purchase_days, p_alive and churn_risk"
                  : "predicted_clv")
          << " are not to be relied on\n";
    }
  }
  return 0;
}

}  // namespace cjd::ctl
