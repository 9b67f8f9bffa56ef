#include "hub/http/journey_api.h"

#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "hub/journeys/attribution.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;
using namespace journeys;

constexpr size_t kMaxSteps = 20;
constexpr int64_t kMaxWindowDays = 366;

// "YYYY-MM-DD", or "YYYY-MM" for the month's first day.
Result<int32_t> ParseDay(const std::string& text, const std::string& field) {
  std::string t = text;
  if (t.size() == 7) t += "-01";
  if (t.size() != 10) {
    return Status::Invalid(field + ": expected YYYY-MM-DD or YYYY-MM, got \"" +
                               text.substr(0, 40) + "\"",
                           field);
  }
  auto d = DayNumber(t);
  if (!d.ok()) return Status::Invalid(field + ": " + d.status().message(), field);
  return d;
}

Result<Period> ParsePeriod(const std::optional<std::string>& from,
                           const std::optional<std::string>& to) {
  Period p;
  if (from && !from->empty()) {
    auto d = ParseDay(*from, "from");
    if (!d.ok()) return d.status();
    p.from_day = *d;
  }
  if (to && !to->empty()) {
    auto d = ParseDay(*to, "to");
    if (!d.ok()) return d.status();
    p.to_day = *d;
  }
  if (p.from_day && p.to_day && *p.to_day <= *p.from_day) {
    return Status::Invalid("to: must be after from (from is inclusive, to exclusive)", "to");
  }
  return p;
}

std::optional<std::string> Query(const http::Request& req, const char* name) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return std::nullopt;
  return it->second;
}

Status OnlyParams(const http::Request& req, std::initializer_list<std::string_view> names) {
  for (const auto& [name, value] : req.query) {
    bool known = false;
    for (std::string_view n : names) known = known || n == name;
    if (!known) return Status::Invalid("unknown query parameter \"" + name + "\"", name);
  }
  return Status::Ok();
}

Result<StepSpec> ParseStep(const json& j, const std::string& field) {
  if (!j.is_object()) return Status::Invalid(field + ": expected an object", field);
  StepSpec s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "type" && it.key() != "where" && it.key() != "name") {
      return Status::Invalid(field + ": unknown field \"" + it.key() + "\"",
                             field + "." + it.key());
    }
  }
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) {
    return Status::Invalid(field + ".type: required, an event type name", field + ".type");
  }
  auto t = EventTypeFromName(type->get<std::string>());
  if (!t) {
    return Status::Invalid(field + ".type: unknown event type \"" +
                               type->get<std::string>().substr(0, 40) + "\"",
                           field + ".type");
  }
  s.type = *t;
  // A custom event's name: {"type": "track", "name": "Newsletter Signed Up"}.
  if (auto name = j.find("name"); name != j.end()) {
    if (s.type != EventType::kTrack) {
      return Status::Invalid(field + ".name: only for type track (a custom event's name)",
                             field + ".name");
    }
    if (!name->is_string() || name->get<std::string>().empty() ||
        name->get<std::string>().size() > 512) {
      return Status::Invalid(field + ".name: expected the custom event's name", field + ".name");
    }
    s.where.push_back({"name", name->get<std::string>()});
  }
  auto where = j.find("where");
  if (where != j.end() && !where->is_null()) {
    if (!where->is_object()) {
      return Status::Invalid(field + ".where: expected an object", field + ".where");
    }
    for (auto w = where->begin(); w != where->end(); ++w) {
      const std::string f = field + ".where." + w.key();
      std::string value;
      if (w->is_string()) {
        value = w->get<std::string>();
      } else if (w->is_number() || w->is_boolean()) {
        value = w->is_boolean() ? (w->get<bool>() ? "true" : "false") : w->dump();
      } else {
        return Status::Invalid(f + ": expected a string, number or boolean", f);
      }
      if (value.empty() || value.size() > 256) {
        return Status::Invalid(f + ": 1 to 256 characters", f);
      }
      std::string key = w.key();
      static const std::set<std::string, std::less<>> kFields = {"sku", "category", "url",
                                                                 "store_id", "channel", "name"};
      if (key.empty() || key.size() > 64) return Status::Invalid(f + ": bad field name", f);
      // "name" is a custom event's name on a track step; elsewhere a property, as before.
      if (key == "name" && s.type != EventType::kTrack) key = "properties.name";
      if (kFields.count(key) == 0 && key.rfind("properties.", 0) != 0) key = "properties." + key;
      if (key == "properties.") return Status::Invalid(f + ": bad field name", f);
      s.where.push_back({key, value});
    }
  }
  return s;
}

}  // namespace

Result<FunnelQuery> ParseFunnelQuery(const json& body, std::string* segment) {
  if (!body.is_object()) return Status::Invalid("the body must be a JSON object", "body");
  static const std::set<std::string, std::less<>> kKeys = {
      "steps", "order", "window_days", "count_by", "from", "to", "exclude", "breakdown",
      "segment", "pain_points"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (kKeys.count(it.key()) == 0) {
      return Status::Invalid("unknown field \"" + it.key() + "\"", it.key());
    }
  }
  FunnelQuery q;
  auto steps = body.find("steps");
  if (steps == body.end() || !steps->is_array() || steps->empty() || steps->size() > kMaxSteps) {
    return Status::Invalid("steps: required, an array of 1 to 20 steps", "steps");
  }
  for (size_t i = 0; i < steps->size(); ++i) {
    auto s = ParseStep((*steps)[i], "steps[" + std::to_string(i) + "]");
    if (!s.ok()) return s.status();
    q.steps.push_back(std::move(*s));
  }
  if (auto ex = body.find("exclude"); ex != body.end() && !ex->is_null()) {
    if (!ex->is_array() || ex->size() > kMaxSteps) {
      return Status::Invalid("exclude: an array of at most 20 events", "exclude");
    }
    for (size_t i = 0; i < ex->size(); ++i) {
      auto s = ParseStep((*ex)[i], "exclude[" + std::to_string(i) + "]");
      if (!s.ok()) return s.status();
      q.exclude.push_back(std::move(*s));
    }
  }
  auto text = [&](const char* key, std::string* out) -> Status {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return Status::Ok();
    if (!it->is_string()) return Status::Invalid(std::string(key) + ": expected a string", key);
    *out = it->get<std::string>();
    return Status::Ok();
  };
  std::string order = "sequential", count_by = "person", breakdown, from, to;
  CJD_RETURN_IF_ERROR(text("order", &order));
  CJD_RETURN_IF_ERROR(text("count_by", &count_by));
  CJD_RETURN_IF_ERROR(text("breakdown", &breakdown));
  CJD_RETURN_IF_ERROR(text("from", &from));
  CJD_RETURN_IF_ERROR(text("to", &to));
  CJD_RETURN_IF_ERROR(text("segment", segment));
  if (order == "sequential") {
    q.order = FunnelOrder::kSequential;
  } else if (order == "strict") {
    q.order = FunnelOrder::kStrict;
  } else if (order == "any") {
    q.order = FunnelOrder::kAny;
  } else {
    return Status::Invalid("order: one of sequential, strict, any", "order");
  }
  if (count_by == "person") {
    q.count_by = CountBy::kPerson;
  } else if (count_by == "session") {
    q.count_by = CountBy::kSession;
  } else {
    return Status::Invalid("count_by: one of person, session", "count_by");
  }
  if (breakdown.empty()) {
    q.breakdown = Breakdown::kNone;
  } else if (breakdown == "channel") {
    q.breakdown = Breakdown::kChannel;
  } else if (breakdown == "store") {
    q.breakdown = Breakdown::kStore;
  } else if (breakdown == "segment") {
    q.breakdown = Breakdown::kSegment;
  } else {
    return Status::Invalid("breakdown: one of channel, store, segment", "breakdown");
  }
  if (auto pp = body.find("pain_points"); pp != body.end() && !pp->is_null()) {
    if (!pp->is_boolean()) return Status::Invalid("pain_points: true or false", "pain_points");
    q.pain_points = pp->get<bool>();
  }
  if (auto w = body.find("window_days"); w != body.end() && !w->is_null()) {
    if (!w->is_number_integer() || w->get<int64_t>() < 1 || w->get<int64_t>() > kMaxWindowDays) {
      return Status::Invalid("window_days: an integer from 1 to 366", "window_days");
    }
    q.window_ms = w->get<int64_t>() * 86'400'000;
  }
  auto period = ParsePeriod(from, to);
  if (!period.ok()) return period.status();
  q.period = *period;
  return q;
}

Result<AttributionQuery> ParseAttributionQuery(const json& body, std::string* segment) {
  if (!body.is_object()) return Status::Invalid("the body must be a JSON object", "body");
  static const std::set<std::string, std::less<>> kKeys = {
      "models", "from", "to", "lookback_days", "currency", "half_life_days", "first_share",
      "last_share", "segment"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (kKeys.count(it.key()) == 0) {
      return Status::Invalid("unknown field \"" + it.key() + "\"", it.key());
    }
  }
  AttributionQuery q;
  if (auto m = body.find("models"); m != body.end() && !m->is_null()) {
    if (!m->is_array() || m->empty() || m->size() > 6) {
      return Status::Invalid("models: an array of model names", "models");
    }
    for (size_t i = 0; i < m->size(); ++i) {
      const json& v = (*m)[i];
      const std::string f = "models[" + std::to_string(i) + "]";
      if (!v.is_string() || !ModelFromName(v.get<std::string>())) {
        return Status::Invalid(f + ": one of first_touch, last_touch, linear, time_decay, "
                                   "position_based, markov", f);
      }
      q.models.push_back(v.get<std::string>());
    }
  } else {
    q.models = {"first_touch", "last_touch", "linear", "time_decay", "position_based", "markov"};
  }
  std::optional<std::string> from, to;
  for (const char* key : {"from", "to", "currency", "segment"}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) return Status::Invalid(std::string(key) + ": expected a string", key);
    const std::string v = it->get<std::string>();
    if (std::string_view(key) == "from") from = v;
    if (std::string_view(key) == "to") to = v;
    if (std::string_view(key) == "currency") q.currency = v;
    if (std::string_view(key) == "segment") *segment = v;
  }
  auto period = ParsePeriod(from, to);
  if (!period.ok()) return period.status();
  q.period = *period;
  if (auto l = body.find("lookback_days"); l != body.end() && !l->is_null()) {
    if (!l->is_number_integer() || l->get<int64_t>() < 1 || l->get<int64_t>() > 366) {
      return Status::Invalid("lookback_days: an integer from 1 to 366", "lookback_days");
    }
    q.lookback_ms = l->get<int64_t>() * 86'400'000;
  }
  for (auto [key, out] : {std::pair<const char*, double*>{"half_life_days", &q.half_life_days},
                          {"first_share", &q.first_share},
                          {"last_share", &q.last_share}}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_number()) return Status::Invalid(std::string(key) + ": expected a number", key);
    *out = it->get<double>();
  }
  return q;
}

Result<PathQuery> ParsePathQuery(const json& body, std::string* segment) {
  if (!body.is_object()) return Status::Invalid("the body must be a JSON object", "body");
  static const std::set<std::string, std::less<>> kKeys = {"start", "end", "length", "top",
                                                           "count_by", "from", "to", "segment"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (kKeys.count(it.key()) == 0) {
      return Status::Invalid("unknown field \"" + it.key() + "\"", it.key());
    }
  }
  PathQuery q;
  const bool has_start = body.contains("start") && !body["start"].is_null();
  const bool has_end = body.contains("end") && !body["end"].is_null();
  if (has_start == has_end) {
    return Status::Invalid("start: give exactly one of start and end", has_start ? "end" : "start");
  }
  auto step = ParseStep(has_start ? body["start"] : body["end"], has_start ? "start" : "end");
  if (!step.ok()) return step.status();
  (has_start ? q.start : q.end) = std::move(*step);
  auto integer = [&](const char* key, int lo, int hi, int* out) -> Status {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return Status::Ok();
    if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
      return Status::Invalid(std::string(key) + ": an integer from " + std::to_string(lo) +
                                 " to " + std::to_string(hi),
                             key);
    }
    *out = static_cast<int>(it->get<int64_t>());
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(integer("length", 2, 10, &q.length));
  CJD_RETURN_IF_ERROR(integer("top", 1, 100, &q.top));
  std::optional<std::string> from, to;
  for (const char* key : {"count_by", "from", "to", "segment"}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) return Status::Invalid(std::string(key) + ": expected a string", key);
    const std::string v = it->get<std::string>();
    const std::string_view k(key);
    if (k == "count_by") {
      if (v != "person" && v != "session") {
        return Status::Invalid("count_by: one of person, session", "count_by");
      }
      q.count_by = v == "person" ? CountBy::kPerson : CountBy::kSession;
    }
    if (k == "from") from = v;
    if (k == "to") to = v;
    if (k == "segment") *segment = v;
  }
  auto period = ParsePeriod(from, to);
  if (!period.ok()) return period.status();
  q.period = *period;
  return q;
}

JourneyApi::JourneyApi(Journeys* journeys, std::unique_ptr<segments::SegmentStore> segments,
                       const Clock* clock)
    : journeys_(journeys), clock_(clock), segments_(std::move(segments)) {}

bool JourneyApi::Owns(const std::string& path) {
  return path == "/v1/metrics/web" || path == "/v1/funnels/query" || path == "/v1/retention" ||
         path == "/v1/journeys/sessions" || path == "/v1/attribution/query" ||
         path == "/v1/paths/query" || path == "/v1/journeys/lifecycle" ||
         path == "/v1/journeys/stages";
}

json JourneyApi::StatsJson() const {
  const JourneysStats s = journeys_->Stats();
  return {{"cursor", s.cursor}, {"touches", s.touches}, {"persons", s.persons}, {"moved", s.moved}};
}

http::Response JourneyApi::Handle(const http::Request& req) {
  const bool post = req.path == "/v1/funnels/query" || req.path == "/v1/attribution/query" ||
                    req.path == "/v1/paths/query";
  if (req.method != (post ? "POST" : "GET")) {
    return http::JsonError(405, "method_not_allowed", post ? "use POST" : "use GET");
  }
  if (req.path == "/v1/metrics/web") return WebMetrics(req);
  if (req.path == "/v1/funnels/query") return Funnel(req);
  if (req.path == "/v1/retention") return Retention(req);
  if (req.path == "/v1/attribution/query") return Attribution(req);
  if (req.path == "/v1/paths/query") return Paths(req);
  if (req.path == "/v1/journeys/lifecycle") return Lifecycle(req);
  if (req.path == "/v1/journeys/stages") return Stages(req);
  return Sessions(req);
}

Result<std::unordered_set<int64_t>> JourneyApi::Members(const std::string& id) {
  std::lock_guard lock(segments_mu_);
  auto exists = segments_->Exists(id);
  if (!exists.ok()) return exists.status();
  if (!*exists) return Status::Invalid("segment: no segment \"" + id.substr(0, 64) + "\"", "segment");
  return segments_->AllMemberIds(id);
}

http::Response JourneyApi::WebMetrics(const http::Request& req) {
  if (Status st = OnlyParams(req, {"from", "to", "channel", "store", "segment"}); !st.ok()) {
    return http::ErrorFromStatus(st);
  }
  auto period = ParsePeriod(Query(req, "from"), Query(req, "to"));
  if (!period.ok()) return http::ErrorFromStatus(period.status());
  WebQuery q;
  q.period = *period;
  q.channel = Query(req, "channel").value_or("");
  q.store = Query(req, "store").value_or("");
  std::optional<std::unordered_set<int64_t>> members;
  if (auto seg = Query(req, "segment"); seg && !seg->empty()) {
    auto m = Members(*seg);
    if (!m.ok()) return http::ErrorFromStatus(m.status());
    members = std::move(*m);
  }
  json out = journeys_->WebMetrics(q, members ? &*members : nullptr);
  out["from"] = Query(req, "from").value_or("");
  out["to"] = Query(req, "to").value_or("");
  return {200, out.dump()};
}

http::Response JourneyApi::Funnel(const http::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return http::InvalidField("body", "the body is not valid JSON");
  std::string segment;
  auto q = ParseFunnelQuery(body, &segment);
  if (!q.ok()) return http::ErrorFromStatus(q.status());
  std::optional<std::unordered_set<int64_t>> members;
  if (!segment.empty()) {
    auto m = Members(segment);
    if (!m.ok()) return http::ErrorFromStatus(m.status());
    members = std::move(*m);
  }
  SegmentMembers groups;
  if (q->breakdown == Breakdown::kSegment) {
    std::vector<segments::SegmentRow> rows;
    {
      std::lock_guard lock(segments_mu_);
      auto list = segments_->List();
      if (!list.ok()) return http::ErrorFromStatus(list.status());
      rows = std::move(*list);
    }
    for (const auto& row : rows) {
      auto m = Members(row.id);
      if (!m.ok()) return http::ErrorFromStatus(m.status());
      groups.emplace_back(row.id, std::move(*m));
    }
  }
  journeys::PersonFeatures features;
  if (q->pain_points) {
    features = [this](const std::vector<int64_t>& ids) { return FeaturesOf(ids); };
  }
  json out = journeys_->Funnel(*q, members ? &*members : nullptr, &groups, &features);
  return {200, out.dump()};
}

std::unordered_map<int64_t, std::vector<std::string>> JourneyApi::FeaturesOf(
    const std::vector<int64_t>& persons) {
  std::unordered_map<int64_t, std::vector<std::string>> out;
  {
    std::lock_guard lock(segments_mu_);
    for (const int64_t id : persons) {
      auto of = segments_->SegmentsOf(id);
      if (!of.ok()) {
        spdlog::warn("pain points: segments of {}: {}", id, of.status().ToString());
        break;
      }
      for (const std::string& s : *of) out[id].push_back("segment=" + s);
    }
  }
  if (keys_ == nullptr || profiles_path_.empty()) return out;
  std::lock_guard lock(facts_mu_);
  if (!facts_) {
    auto opened = ProfileFactsReader::Open(profiles_path_, *keys_, /*rfm=*/nullptr);
    if (!opened.ok()) {
      spdlog::warn("pain points: profiles: {}", opened.status().ToString());
      return out;
    }
    facts_ = std::move(*opened);
  }
  // Attribute values, kept only when enough persons hold them.
  ProfileFactsNeeds needs;
  needs.orders = needs.favourite_store = needs.favourite_category = false;
  needs.attributes = true;
  std::map<std::string, std::vector<int64_t>> holders;
  if (Status st = facts_->Begin(); !st.ok()) {
    spdlog::warn("pain points: profiles: {}", st.ToString());
    return out;
  }
  for (const int64_t id : persons) {
    auto row = facts_->Read(id, needs);
    if (!row.ok()) {
      spdlog::warn("pain points: profile {}: {}", id, row.status().ToString());
      break;
    }
    if (!*row) continue;
    for (const auto& [name, value] : (*row)->attributes.items()) {
      std::string text;
      if (value.is_string()) {
        text = value.get<std::string>();
      } else if (value.is_boolean() || value.is_number()) {
        text = value.dump();
      } else {
        continue;  // objects and lists: no single value to count
      }
      if (text.empty() || text.size() > 100 || name.size() > 100) continue;
      holders["attributes." + name + "=" + text].push_back(id);
    }
  }
  facts_->End();
  for (auto& [feature, ids] : holders) {
    if (static_cast<int64_t>(ids.size()) < kMinAttributeHolders) continue;
    for (const int64_t id : ids) out[id].push_back(feature);
  }
  return out;
}

http::Response JourneyApi::Retention(const http::Request& req) {
  if (Status st = OnlyParams(req, {"cohort", "period", "segment"}); !st.ok()) {
    return http::ErrorFromStatus(st);
  }
  const std::string cohort = Query(req, "cohort").value_or("first_order_month");
  const std::string period = Query(req, "period").value_or("month");
  RetentionCohort c;
  if (cohort == "first_order_month") {
    c = RetentionCohort::kFirstOrderMonth;
  } else if (cohort == "first_seen_month") {
    c = RetentionCohort::kFirstSeenMonth;
  } else {
    return http::InvalidField("cohort", "cohort: one of first_order_month, first_seen_month");
  }
  RetentionPeriod p;
  if (period == "month") {
    p = RetentionPeriod::kMonth;
  } else if (period == "week") {
    p = RetentionPeriod::kWeek;
  } else {
    return http::InvalidField("period", "period: one of month, week");
  }
  std::optional<std::unordered_set<int64_t>> members;
  if (auto seg = Query(req, "segment"); seg && !seg->empty()) {
    auto m = Members(*seg);
    if (!m.ok()) return http::ErrorFromStatus(m.status());
    members = std::move(*m);
  }
  return {200, journeys_->Retention(c, p, members ? &*members : nullptr).dump()};
}

http::Response JourneyApi::Attribution(const http::Request& req) {
  json body = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (body.is_discarded()) return http::InvalidField("body", "the body is not valid JSON");
  std::string segment;
  auto q = ParseAttributionQuery(body, &segment);
  if (!q.ok()) return http::ErrorFromStatus(q.status());
  std::optional<std::unordered_set<int64_t>> members;
  if (!segment.empty()) {
    auto m = Members(segment);
    if (!m.ok()) return http::ErrorFromStatus(m.status());
    members = std::move(*m);
  }
  auto out = journeys_->Attribution(*q, members ? &*members : nullptr);
  if (!out.ok()) return http::ErrorFromStatus(out.status());
  return {200, out->dump()};
}

Result<std::optional<std::unordered_set<int64_t>>> JourneyApi::Filter(const std::string& segment) {
  if (segment.empty()) return std::optional<std::unordered_set<int64_t>>();
  auto m = Members(segment);
  if (!m.ok()) return m.status();
  return std::optional<std::unordered_set<int64_t>>(std::move(*m));
}

http::Response JourneyApi::Paths(const http::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return http::InvalidField("body", "the body is not valid JSON");
  std::string segment;
  auto q = ParsePathQuery(body, &segment);
  if (!q.ok()) return http::ErrorFromStatus(q.status());
  auto members = Filter(segment);
  if (!members.ok()) return http::ErrorFromStatus(members.status());
  return {200, journeys_->Paths(*q, *members ? &**members : nullptr).dump()};
}

http::Response JourneyApi::Lifecycle(const http::Request& req) {
  if (Status st = OnlyParams(req, {"period", "activity", "segment"}); !st.ok()) {
    return http::ErrorFromStatus(st);
  }
  const std::string period = Query(req, "period").value_or("month");
  const std::string activity = Query(req, "activity").value_or("order");
  if (period != "month" && period != "week") {
    return http::InvalidField("period", "period: one of month, week");
  }
  if (activity != "order" && activity != "any") {
    return http::InvalidField("activity", "activity: one of order, any");
  }
  auto members = Filter(Query(req, "segment").value_or(""));
  if (!members.ok()) return http::ErrorFromStatus(members.status());
  return {200, journeys_->Lifecycle(period == "week" ? RetentionPeriod::kWeek : RetentionPeriod::kMonth,
                                    activity == "order", *members ? &**members : nullptr)
                   .dump()};
}

http::Response JourneyApi::Stages(const http::Request& req) {
  if (Status st = OnlyParams(req, {"period", "segment"}); !st.ok()) {
    return http::ErrorFromStatus(st);
  }
  const std::string period = Query(req, "period").value_or("month");
  if (period != "month" && period != "week") {
    return http::InvalidField("period", "period: one of month, week");
  }
  auto members = Filter(Query(req, "segment").value_or(""));
  if (!members.ok()) return http::ErrorFromStatus(members.status());
  return {200, journeys_->Stages(period == "week" ? RetentionPeriod::kWeek : RetentionPeriod::kMonth,
                                 clock_->NowMillis(), *members ? &**members : nullptr)
                   .dump()};
}

http::Response JourneyApi::Sessions(const http::Request& req) {
  if (Status st = OnlyParams(req, {"profile_id"}); !st.ok()) return http::ErrorFromStatus(st);
  auto id = http::ParseCount(Query(req, "profile_id").value_or(""));
  if (!id || *id <= 0) return http::InvalidField("profile_id", "profile_id: a profile id");
  return {200, json{{"profile_id", *id}, {"touches", journeys_->Timeline(*id)}}.dump()};
}

}  // namespace cjd::hub
