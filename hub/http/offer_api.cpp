#include "hub/http/offer_api.h"

#include "shared/event/event.h"
#include "shared/protocol/offer_update.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

constexpr std::string_view kOffers = "/v1/offers";

http::Response Json(int status, const json& body) { return {status, body.dump()}; }

}  // namespace

bool OfferApi::Owns(const std::string& path) {
  return path == kOffers || path.rfind("/v1/offers/", 0) == 0;
}

http::Response OfferApi::Handle(const http::Request& req) {
  if (planner_ == nullptr) {
    return http::JsonError(503, "offers_disabled",
                           "offers are disabled on this hub ([offers] enabled = false)");
  }
  if (req.path == kOffers) {
    if (req.method == "POST") return Put(req);
    if (req.method == "GET") return List(req);
    return http::JsonError(405, "method_not_allowed", "use GET or POST");
  }
  std::string_view rest = std::string_view(req.path).substr(kOffers.size() + 1);
  bool stats = false;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/stats")
      return http::JsonError(404, "not_found", "no such endpoint: " + req.path);
    stats = true;
    rest = rest.substr(0, slash);
  }
  const std::string id(rest);
  if (!IsValidOfferId(id)) {
    return http::ErrorFromStatus(
        Status::Invalid("id: must be 1..64 characters of [A-Za-z0-9._:-]", "id"));
  }
  if (stats) {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    auto offer = planner_->GetOffer(id);
    if (!offer.ok()) return http::ErrorFromStatus(offer.status());
    if (!stats_) return http::JsonError(503, "unavailable", "offer statistics are not available");
    auto figures = stats_(id);
    if (!figures.ok()) return http::ErrorFromStatus(figures.status());
    return Json(200, *figures);
  }
  if (req.method == "GET") {
    auto offer = planner_->GetOffer(id);
    if (!offer.ok()) return http::ErrorFromStatus(offer.status());
    return Json(200, offer->ToJson());
  }
  if (req.method == "DELETE") {
    auto offer = planner_->DeleteOffer(id);
    if (!offer.ok()) return http::ErrorFromStatus(offer.status());
    return Json(200, offer->ToJson());
  }
  return http::JsonError(405, "method_not_allowed", "use GET or DELETE");
}

http::Response OfferApi::Put(const http::Request& req) {
  const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return http::ErrorFromStatus(Status::Invalid("body: not valid JSON", "body"));
  }
  auto spec = offers::ParseOfferSpec(body);
  if (!spec.ok()) return http::ErrorFromStatus(spec.status());
  auto put = planner_->PutOffer(*spec);
  if (!put.ok()) return http::ErrorFromStatus(put.status());
  return Json(put->second ? 201 : 200, put->first.ToJson());
}

http::Response OfferApi::List(const http::Request& req) {
  bool include_deleted = false;
  if (auto it = req.query.find("include_deleted"); it != req.query.end()) {
    if (it->second != "true" && it->second != "false") {
      return http::ErrorFromStatus(
          Status::Invalid("include_deleted: must be true or false", "include_deleted"));
    }
    include_deleted = it->second == "true";
  }
  auto rows = planner_->ListOffers(include_deleted);
  if (!rows.ok()) return http::ErrorFromStatus(rows.status());
  json list = json::array();
  for (const auto& r : *rows) list.push_back(r.ToJson());
  const size_t n = list.size();
  return Json(200, json{{"offers", std::move(list)}, {"count", n}});
}

json OfferApi::StatsJson() const {
  if (planner_ == nullptr) return json{{"enabled", false}};
  const offers::PlannerStats s = planner_->Stats();
  return json{{"offers", s.offers},
              {"stores", s.stores},
              {"items", s.items},
              {"full_recomputes", s.full_recomputes},
              {"last_full_duration_ms", s.last_full_duration_ms},
              {"profile_recomputes", s.profile_recomputes},
              {"items_changed", s.items_changed},
              {"updates_sent", s.updates_sent},
              {"resends", s.resends},
              {"publish_failures", s.publish_failures},
              {"devices", s.devices},
              {"devices_current", s.devices_current},
              {"sync_lease", s.sync_lease},
              {"lease_takeovers", s.lease_takeovers}};
}

}  // namespace cjd::hub
