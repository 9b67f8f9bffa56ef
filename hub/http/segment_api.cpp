#include "hub/http/segment_api.h"


#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;
using segments::SegmentRow;

constexpr const char* kSegments = "/v1/segments";
constexpr int64_t kDefaultMembersLimit = 1000;
constexpr int64_t kMaxMembersLimit = 10'000;

using http::ParseCount;
constexpr auto Invalid = http::InvalidField;

// kConflict with the field kept (ErrorFromStatus drops it for 409).
http::Response Error(const Status& st) {
  if (st.code() == Code::kConflict) {
    return http::JsonError(409, "conflict", st.message(), st.field());
  }
  return http::ErrorFromStatus(st);
}

json TimeOrNull(std::optional<int64_t> ms) {
  return ms ? json(FormatRfc3339(*ms)) : json(nullptr);
}

bool IsText(const json& j) { return j.is_string() && !IsJsonNumber(j); }

}  // namespace

json SegmentJson(const SegmentRow& row) {
  return {{"id", row.id},
          {"name", row.name},
          {"description", row.description},
          {"rule", row.rule},
          {"builtin", row.builtin},
          {"members", row.members},
          {"created_at", FormatRfc3339(row.created_ms)},
          {"updated_at", FormatRfc3339(row.updated_ms)},
          {"evaluated_at", TimeOrNull(row.evaluated_ms)}};
}

bool SegmentApi::Owns(const std::string& path) {
  return path == kSegments || path.rfind("/v1/segments/", 0) == 0;
}

http::Response SegmentApi::Handle(const http::Request& req) {
  if (req.path == kSegments) {
    if (req.method == "GET") return List();
    if (req.method == "POST") return Create(req);
    return http::JsonError(405, "method_not_allowed", "use GET or POST");
  }
  std::string rest = req.path.substr(std::string_view(kSegments).size() + 1);
  bool members = false;
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    if (rest.substr(slash) != "/members") {
      return http::JsonError(404, "not_found", "no such endpoint: " + req.path);
    }
    members = true;
    rest.resize(slash);
  }
  if (Status st = segments::ValidateSegmentId(rest); !st.ok() && rest != "all") {
    return Invalid("id", st.message());
  }
  if (members) {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return Members(req, rest);
  }
  if (req.method == "GET") return GetOne(rest);
  if (req.method == "DELETE") return Delete(rest);
  return http::JsonError(405, "method_not_allowed", "use GET or DELETE");
}

http::Response SegmentApi::Create(const http::Request& req) {
  Result<json> body = ParseJsonExact(req.body);
  if (!body.ok()) return http::ErrorFromStatus(body.status());
  if (!body->is_object()) {
    return Invalid("", "must be a JSON object, like {\"id\": \"lapsed\", \"rule\": \"orders >= 2\"}");
  }
  segments::SegmentDefinition def;
  for (auto it = body->begin(); it != body->end(); ++it) {
    std::string* target = it.key() == "id"            ? &def.id
                          : it.key() == "rule"        ? &def.rule
                          : it.key() == "name"        ? &def.name
                          : it.key() == "description" ? &def.description
                                                      : nullptr;
    if (target == nullptr) {
      return Invalid(it.key(), "unknown field; expected id, rule, name, description");
    }
    if (it.value().is_null() && (it.key() == "name" || it.key() == "description")) continue;
    if (!IsText(it.value())) {
      return Invalid(it.key(), std::string("must be a string, not ") + JsonTypeName(it.value()));
    }
    *target = it.value().get<std::string>();
  }
  if (!body->contains("id")) return Invalid("id", "is required");
  if (!body->contains("rule")) return Invalid("rule", "is required");
  Result<segments::PutSegmentResult> r = engine_->Put(def);
  if (!r.ok()) return Error(r.status());
  return {r->created ? 201 : 200, SegmentJson(r->row).dump()};
}

http::Response SegmentApi::List() {
  Result<std::vector<SegmentRow>> rows = Status::Internal("unset");
  {
    std::lock_guard lock(reader_mu_);
    rows = reader_->List();
  }
  if (!rows.ok()) return http::ErrorFromStatus(rows.status());
  json list = json::array();
  for (const SegmentRow& row : *rows) list.push_back(SegmentJson(row));
  return {200, json{{"segments", std::move(list)}}.dump()};
}

http::Response SegmentApi::GetOne(const std::string& id) {
  Result<std::optional<SegmentRow>> row = Status::Internal("unset");
  {
    std::lock_guard lock(reader_mu_);
    row = reader_->Get(id);
  }
  if (!row.ok()) return http::ErrorFromStatus(row.status());
  if (!*row) return http::JsonError(404, "not_found", "no segment \"" + id + "\"", "id");
  return {200, SegmentJson(**row).dump()};
}

Result<std::vector<std::string>> SegmentApi::SegmentsOf(int64_t profile_id) {
  std::lock_guard lock(reader_mu_);
  return reader_->SegmentsOf(profile_id);
}

http::Response SegmentApi::Delete(const std::string& id) {
  Status st = engine_->Delete(id);
  if (st.code() == Code::kNotFound) return http::JsonError(404, "not_found", st.message(), "id");
  if (!st.ok()) return Error(st);
  return {200, json{{"deleted", id}}.dump()};
}

http::Response SegmentApi::Members(const http::Request& req, const std::string& id) {
  int64_t limit = kDefaultMembersLimit;
  int64_t after = 0;
  for (const auto& [name, value] : req.query) {
    if (name == "limit") {
      const auto n = ParseCount(value);
      if (!n || *n < 1 || *n > kMaxMembersLimit) {
        return Invalid("limit", "must be an integer from 1 to 10000");
      }
      limit = *n;
    } else if (name == "after") {
      const auto n = ParseCount(value);
      if (!n) return Invalid("after", "must be a profile id (next_after of the previous page)");
      after = *n;
    } else {
      return Invalid(name, "unknown parameter; expected limit, after");
    }
  }
  Result<std::optional<SegmentRow>> row = Status::Internal("unset");
  Result<std::vector<segments::MemberRow>> page = Status::Internal("unset");
  {
    std::lock_guard lock(reader_mu_);
    // One snapshot for both reads.
    const bool snapshot = reader_->db().Exec("BEGIN").ok();
    row = reader_->Get(id);
    if (row.ok() && *row) page = reader_->Members(id, after, limit + 1);
    if (snapshot) (void)reader_->db().Exec("COMMIT");
  }
  if (!row.ok()) return http::ErrorFromStatus(row.status());
  if (!*row) return http::JsonError(404, "not_found", "no segment \"" + id + "\"", "id");
  if (!page.ok()) return http::ErrorFromStatus(page.status());
  const bool more = static_cast<int64_t>(page->size()) > limit;
  if (more) page->pop_back();
  json members = json::array();
  for (const segments::MemberRow& m : *page) {
    members.push_back({{"profile_id", m.profile_id}, {"since", FormatRfc3339(m.since_ms)}});
  }
  json out = {{"segment", id},
              {"members", std::move(members)},
              {"next_after", more ? json(page->back().profile_id) : json(nullptr)}};
  return {200, out.dump()};
}

json SegmentApi::StatsJson() {
  const segments::SegmentEngineStats s = engine_->Stats();
  return {{"segments", s.segments},
          {"evaluations", s.evaluations},
          {"full_evaluations", s.full_evaluations},
          {"last_full_evaluation_ms", s.last_full_evaluation_ms},
          {"last_full_evaluation_at",
           s.last_full_evaluation_at_ms > 0 ? json(FormatRfc3339(s.last_full_evaluation_at_ms))
                                            : json(nullptr)},
          {"full_evaluation_running", s.full_evaluation_running},
          {"queued", s.queued}};
}

}  // namespace cjd::hub
