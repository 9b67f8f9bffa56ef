#include "tools/cjdctl/offers_command.h"

#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "shared/http/client.h"
#include "tools/cjdctl/hub_error.h"
#include "tools/cjdctl/token_option.h"

namespace cjd::ctl {
namespace {

using json = nlohmann::json;

constexpr const char* kNoToken =
    "--token: the hub's admin token is required (--token, --token-file PATH or CJD_TOKEN)";

void AddHub(CLI::App* cmd, OffersOptions& o) {
  cmd->add_option("--hub", o.hub, "hub URL, http://HOST:PORT")->required();
  AddTokenOptions(cmd, &o.token, &o.token_file, "the hub's admin token");
}

std::string Cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

void PrintTable(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

}  // namespace

OffersCommand::OffersCommand(CLI::App& app) {
  offers_ = app.add_subcommand("offers", "manage the hub's offers (/v1/offers)");
  offers_->require_subcommand(1);
  list_ = offers_->add_subcommand("list", "list the offers");
  AddHub(list_, o_);
  list_->add_flag("--include-deleted", o_.include_deleted, "also the deleted offers");
  list_->add_flag("--json", o_.json, "print the hub's JSON unchanged");

  put_ = offers_->add_subcommand("put", "create or replace an offer from a JSON file");
  put_->add_option("file", o_.file, "the offer as JSON (the body of POST /v1/offers); - for stdin")
      ->required();
  AddHub(put_, o_);

  create_ = offers_->add_subcommand("create", "create or replace an offer from flags");
  AddHub(create_, o_);
  create_->add_option("--id", o_.id, "offer id, [A-Za-z0-9._:-]{1,64}")->required();
  create_->add_option("--title", o_.title, "title shown on the kiosk")->required();
  create_->add_option("--text", o_.text, "text shown on the kiosk");
  create_->add_option("--segment", o_.segment, "segment id, or all")->required();
  create_->add_option("--store", o_.stores, "a store it applies to (repeat; none: every store)");
  create_->add_option("--valid-from", o_.valid_from, "RFC 3339, e.g. 2026-12-01T00:00:00Z")
      ->required();
  create_->add_option("--valid-until", o_.valid_until, "RFC 3339, exclusive")->required();
  create_->add_option("--priority", o_.priority, "higher ranks first")->capture_default_str();
  create_->add_option("--max-per-customer", o_.max_per_customer,
                      "redemptions per customer, 0 = no limit")
      ->capture_default_str();
  create_->add_flag("--requires-consent", o_.requires_consent,
                    "only for customers who gave marketing consent");

  get_ = offers_->add_subcommand("get", "print one offer");
  get_->add_option("id", o_.id, "offer id")->required();
  AddHub(get_, o_);
  delete_ = offers_->add_subcommand("delete", "delete an offer (kiosks drop it at the next sync)");
  delete_->add_option("id", o_.id, "offer id")->required();
  AddHub(delete_, o_);
  stats_ = offers_->add_subcommand("stats", "impressions, redemptions and revenue of an offer");
  stats_->add_option("id", o_.id, "offer id")->required();
  AddHub(stats_, o_);
  stats_->add_flag("--json", o_.json, "print the hub's JSON unchanged");
}

bool OffersCommand::Selected() const { return offers_->parsed(); }

int OffersCommand::Run(std::istream& in, std::ostream& out, std::ostream& err) const {
  const auto usage = [&](const std::string& message) {
    err << "cjdctl offers: " << message << '\n';
    return 2;
  };
  Result<http::HttpUrl> url = http::ParseHttpUrl(o_.hub);
  if (!url.ok()) return usage("--hub: " + url.status().message());
  std::string token = o_.token;
  if (Status st = ResolveToken(&token, o_.token_file, err); !st.ok()) return usage(st.message());
  if (token.empty()) return usage(kNoToken);

  // The request.
  std::string method = "GET";
  std::string target = url->prefix + "/v1/offers";
  std::string body;
  if (list_->parsed()) {
    if (o_.include_deleted) target += "?include_deleted=true";
  } else if (put_->parsed()) {
    std::string text;
    if (o_.file == "-") {
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    } else {
      std::ifstream f(o_.file, std::ios::binary);
      if (!f) return usage("cannot read " + o_.file);
      std::stringstream ss;
      ss << f.rdbuf();
      text = ss.str();
    }
    const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      return usage((o_.file == "-" ? std::string("stdin") : o_.file) + " is not a JSON object");
    method = "POST";
    body = j.dump();
  } else if (create_->parsed()) {
    json j = {{"id", o_.id},
              {"title", o_.title},
              {"text", o_.text},
              {"segment", o_.segment},
              {"stores", o_.stores},
              {"valid_from", o_.valid_from},
              {"valid_until", o_.valid_until},
              {"priority", o_.priority},
              {"max_per_customer", o_.max_per_customer},
              {"requires_consent", o_.requires_consent}};
    method = "POST";
    body = j.dump();
  } else {
    if (o_.id.empty()) return usage("an offer id is required");
    target += "/" + http::UrlEncode(o_.id);
    if (delete_->parsed()) method = "DELETE";
    if (stats_->parsed()) target += "/stats";
  }

  http::HttpClient client(*url, std::chrono::milliseconds(o_.timeout_ms));
  client.set_user_agent("cjdctl-offers/" CJD_VERSION);
  http::ClientResponse r;
  if (method == "POST") {
    r = client.Post(target, body, token);
  } else if (method == "DELETE") {
    r = client.Delete(target, token);
  } else {
    r = client.Get(target, token);
  }
  if (r.status == 0) {
    err << "cjdctl offers: cannot reach the hub at " << url->ToString() << ": " << r.body << '\n';
    return 1;
  }
  if (r.status < 200 || r.status >= 300) {
    err << "cjdctl offers: the hub answered HTTP " << r.status << ": "
        << ParseHubError(r.body).text << '\n';
    return 1;
  }
  const json answer = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object()) {
    err << "cjdctl offers: the hub's answer is not a JSON object\n";
    return 1;
  }
  if (o_.json || get_->parsed()) {
    out << answer.dump(get_->parsed() ? 2 : -1) << '\n';
    return 0;
  }
  if (list_->parsed()) {
    std::vector<std::vector<std::string>> rows = {{"id", "segment", "stores", "valid_from",
                                                   "valid_until", "priority", "max",
                                                   "consent", "version", "title"}};
    for (const json& o : answer.value("offers", json::array())) {
      std::string stores;
      for (const json& s : o.value("stores", json::array())) {
        if (!stores.empty()) stores += ',';
        stores += s.get<std::string>();
      }
      std::string id = Cell(o.value("id", json()));
      if (o.value("deleted", false)) id += " (deleted)";
      rows.push_back({id, Cell(o.value("segment", json())), stores.empty() ? "*" : stores,
                      Cell(o.value("valid_from", json())), Cell(o.value("valid_until", json())),
                      Cell(o.value("priority", json())), Cell(o.value("max_per_customer", json())),
                      o.value("requires_consent", false) ? "yes" : "no",
                      Cell(o.value("version", json())), Cell(o.value("title", json()))});
    }
    PrintTable(rows, out);
    out << answer.value("count", 0) << " offers\n";
    return 0;
  }
  if (stats_->parsed()) {
    std::vector<std::vector<std::string>> rows = {
        {"offer", Cell(answer.value("offer_id", json()))},
        {"impressions", Cell(answer.value("impressions", json()))},
        {"redemptions", Cell(answer.value("redemptions", json()))},
        {"redemption_rate", Cell(answer.value("redemption_rate", json()))},
        {"revenue", Cell(answer.value("revenue", json())) + " " +
                        Cell(answer.value("currency", json()))}};
    PrintTable(rows, out);
    return 0;
  }
  const std::string id = Cell(answer.value("id", json()));
  const std::string version = Cell(answer.value("version", json()));
  if (delete_->parsed()) {
    out << "deleted offer " << id << " (version " << version << ")\n";
  } else {
    out << (r.status == 201 ? "created" : "updated") << " offer " << id << " (version "
        << version << ")\n";
  }
  return 0;
}

}  // namespace cjd::ctl
