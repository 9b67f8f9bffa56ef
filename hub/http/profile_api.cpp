#include "hub/http/profile_api.h"


#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

// A positive decimal id from a path segment or query value.
std::optional<int64_t> ParseId(std::string_view s) {
  const auto v = http::ParseCount(s);
  if (!v || *v == 0) return std::nullopt;
  return v;
}

constexpr auto Invalid = http::InvalidField;

std::string Param(const http::Request& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string() : it->second;
}

constexpr const char* kProfiles = "/v1/profiles";

}  // namespace

ProfileApi::ProfileApi(const HubConfig& config, std::unique_ptr<ProfileReader> reader,
                       std::unique_ptr<ProfileReader> metrics_reader, Projector* projector,
                       const Clock* clock)
    : normalize_{config.default_country}, reader_(std::move(reader)),
      metrics_reader_(std::move(metrics_reader)), projector_(projector), clock_(clock) {}

bool ProfileApi::Owns(const std::string& path) {
  return path == "/v1/metrics" || path == kProfiles || path.rfind("/v1/profiles/", 0) == 0;
}

http::Response ProfileApi::Handle(const http::Request& req) {
  if (req.path == "/v1/metrics") {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return Metrics(req);
  }
  if (req.path == kProfiles) {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return FindProfile(req);
  }
  std::string_view rest = std::string_view(req.path).substr(std::string_view(kProfiles).size() + 1);
  bool split = false;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/split") {
      return http::JsonError(404, "not_found", "no such endpoint: " + req.path);
    }
    split = true;
    rest = rest.substr(0, slash);
  }
  const std::optional<int64_t> id = ParseId(rest);
  if (!id) return Invalid("profile_id", "must be a positive integer");
  if (split) {
    if (req.method != "POST") return http::JsonError(405, "method_not_allowed", "use POST");
    return Split(req, *id);
  }
  if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
  return GetProfile(req, *id);
}

http::Response ProfileApi::GetProfile(const http::Request& req, int64_t profile_id) {
  int events_limit = 20;
  if (const std::string v = Param(req, "events_limit"); !v.empty()) {
    const auto n = ParseId(v);
    if (!n || *n > 1000) return Invalid("events_limit", "must be an integer from 1 to 1000");
    events_limit = static_cast<int>(*n);
  }
  int64_t before = 0;
  if (const std::string v = Param(req, "events_before"); !v.empty()) {
    const auto n = ParseId(v);
    if (!n) return Invalid("events_before", "must be a positive integer (next_events_before)");
    before = *n;
  }
  Result<json> profile = Status::Internal("unset");
  {
    std::lock_guard lock(reader_mu_);
    profile = reader_->Profile(profile_id, events_limit, before, clock_->NowMillis());
  }
  if (!profile.ok()) return http::ErrorFromStatus(profile.status());
  if (journey_stage_ && profile->contains("profile_id")) {
    (*profile)["journey_stage"] =
        journey_stage_((*profile)["profile_id"].get<int64_t>(), clock_->NowMillis());
  }
  if (segments_of_ && profile->contains("profile_id")) {
    auto ids = segments_of_((*profile)["profile_id"].get<int64_t>());
    if (!ids.ok()) return http::ErrorFromStatus(ids.status());
    (*profile)["segments"] = *ids;
  }
  if (Status st = AddPredictionTraits(&*profile); !st.ok()) return http::ErrorFromStatus(st);
  return {200, profile->dump()};
}

Status ProfileApi::AddPredictionTraits(json* profile) {
  if (!prediction_traits_ || !profile->contains("profile_id") || !profile->contains("traits") ||
      !(*profile)["traits"].is_object()) {
    return Status::Ok();
  }
  Result<json> t = prediction_traits_((*profile)["profile_id"].get<int64_t>());
  if (!t.ok()) return t.status();
  for (auto& [k, v] : t->items()) (*profile)["traits"][k] = v;
  return Status::Ok();
}

Result<std::vector<json>> ProfileApi::IdentifiersOf(const std::vector<int64_t>& ids) {
  std::vector<json> out;
  out.reserve(ids.size());
  std::lock_guard lock(reader_mu_);
  for (const int64_t id : ids) {
    Result<json> one = reader_->Identifiers(id);
    if (!one.ok()) return one.status();
    out.push_back(std::move(*one));
  }
  return out;
}

Result<int64_t> ProfileApi::FindByIdentifier(const std::string& text) {
  if (text.empty()) {
    return Status::Invalid(
        "is required: ?identifier=TYPE:VALUE (for example email:ann@example.com)", "identifier");
  }
  auto parsed = identity::ParseTypedIdentifier(text, normalize_);
  if (!parsed.ok()) return Status::Invalid(parsed.status().message(), "identifier");
  const identity::IdKey key =
      identity::IdentifierKey(parsed->first, parsed->second, projector_->keys().pepper);
  std::lock_guard lock(reader_mu_);
  return reader_->FindByIdentifier(key);
}

Result<bool> ProfileApi::ProfileExists(int64_t profile_id) {
  std::lock_guard lock(reader_mu_);
  Result<json> doc = reader_->Profile(profile_id, 0, 0, clock_->NowMillis());
  if (doc.ok()) return true;
  if (doc.status().code() == Code::kNotFound) return false;
  return doc.status();
}

Result<json> ProfileApi::FullProfile(int64_t profile_id) {
  constexpr int kPage = 1000;
  std::lock_guard lock(reader_mu_);
  Result<json> doc = reader_->Profile(profile_id, kPage, 0, clock_->NowMillis());
  if (!doc.ok()) return doc;
  // Later pages of the live profile (a merge between two reads moves events into it; a split
  // moves some out: the pages stay ordered by event row either way).
  const int64_t live = (*doc)["profile_id"].get<int64_t>();
  while (!(*doc)["next_events_before"].is_null()) {
    Result<json> page =
        reader_->Profile(live, kPage, (*doc)["next_events_before"].get<int64_t>(),
                         clock_->NowMillis());
    if (!page.ok()) return page;
    for (json& e : (*page)["events"]) (*doc)["events"].push_back(std::move(e));
    (*doc)["next_events_before"] = (*page)["next_events_before"];
  }
  doc->erase("next_events_before");
  if (Status st = AddPredictionTraits(&*doc); !st.ok()) return st;
  return doc;
}

http::Response ProfileApi::FindProfile(const http::Request& req) {
  Result<int64_t> pid = FindByIdentifier(Param(req, "identifier"));
  if (!pid.ok()) return http::ErrorFromStatus(pid.status());
  return GetProfile(req, *pid);
}

http::Response ProfileApi::Split(const http::Request& req, int64_t profile_id) {
  int64_t merge_id = 0;
  if (!req.body.empty()) {
    Result<json> body = ParseJsonExact(req.body);
    if (!body.ok()) return http::ErrorFromStatus(body.status());
    if (!body->is_object()) return Invalid("", "must be a JSON object, like {\"merge_id\": 12}");
    for (auto it = body->begin(); it != body->end(); ++it) {
      if (it.key() != "merge_id") return Invalid(it.key(), "unknown field; expected merge_id");
    }
    if (auto it = body->find("merge_id"); it != body->end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
        return Invalid("merge_id", "must be a positive integer");
      }
      merge_id = it->get<int64_t>();
    }
  }
  Result<SplitResult> r = projector_->Split(profile_id, merge_id);
  if (!r.ok()) return http::ErrorFromStatus(r.status());
  json out = {{"merge_id", r->merge_id},         {"split_id", r->split_id},
              {"profile_id", r->from},           {"restored_profile_id", r->restored},
              {"moved_identifiers", r->moved_identifiers},
              {"moved_events", r->moved_events}};
  return {200, out.dump()};
}

http::Response ProfileApi::Metrics(const http::Request& req) {
  static constexpr const char* kKnown[] = {"from", "to", "store", "channel", "currency", "top"};
  for (const auto& [name, value] : req.query) {
    bool known = false;
    for (const char* k : kKnown) known = known || name == k;
    if (!known) return Invalid(name, "unknown parameter; expected from, to, store, channel, currency, top");
  }
  MetricsQuery q;
  q.from = Param(req, "from");
  q.to = Param(req, "to");
  q.store = Param(req, "store");
  q.channel = Param(req, "channel");
  q.currency = Param(req, "currency");
  if (const std::string top = Param(req, "top"); !top.empty()) {
    const auto n = ParseId(top);
    if (!n || *n > 1000) return Invalid("top", "must be an integer from 1 to 1000");
    q.top = static_cast<int>(*n);
  }
  Result<json> m = Status::Internal("unset");
  {
    std::lock_guard lock(metrics_mu_);
    m = metrics_reader_->Metrics(q);
  }
  if (!m.ok()) return http::ErrorFromStatus(m.status());
  const ProjectorStats ps = projector_->Stats();
  (*m)["projection_cursor"] = ps.cursor;
  return {200, m->dump()};
}

json ProfileApi::StatsJson() {
  const ProjectorStats ps = projector_->Stats();
  json j = {{"cursor", ps.cursor},
            {"events_applied", ps.events_applied},
            {"profiles_created", ps.profiles_created},
            {"merges", ps.merges},
            {"refused_identifiers", ps.refused_identifiers},
            {"invalid_identifiers", ps.invalid_identifiers},
            {"quarantined_events", ps.quarantined_events}};
  std::lock_guard lock(metrics_mu_);
  Result<json> counts = metrics_reader_->Counts();
  if (counts.ok()) j.update(*counts);
  return j;
}

Result<json> ProfileApi::OfferStats(const std::string& offer_id) {
  std::lock_guard lock(metrics_mu_);
  return metrics_reader_->OfferStats(offer_id);
}

}  // namespace cjd::hub
