// JourneyIndex::Attribution: POST /v1/attribution/query. Each order (a touch with a sale line,
// in the period and the currency) is a conversion; its path is the person's touchpoints in the
// lookback window before it and after the person's previous order. The touches after a
// person's last order make a path that did not convert (the Markov model needs them).
// Touchpoints: "email" (email_opened, email_clicked), "kiosk_offer" (offer_impression), "store"
// (transaction, loyalty_scan), and for the other activity types the event's channel ("web");
// identify and consent_update are not touchpoints.
#include <map>

#include "hub/journeys/attribution.h"
#include "hub/journeys/journey_index.h"

namespace cjd::hub::journeys {
namespace {

std::string Cents(int64_t c) {
  const bool neg = c < 0;
  const uint64_t a = neg ? 0 - static_cast<uint64_t>(c) : static_cast<uint64_t>(c);
  std::string s = std::to_string(a / 100);
  const uint64_t r = a % 100;
  s += r < 10 ? ".0" + std::to_string(r) : "." + std::to_string(r);
  return neg ? "-" + s : s;
}

}  // namespace

Result<nlohmann::json> JourneyIndex::Attribution(const AttributionQuery& q,
                                                 PersonFilter filter) const {
  // The currency: as asked, else the one with the most orders in the period.
  std::optional<uint32_t> currency;
  if (!q.currency.empty()) {
    currency = Find(q.currency);
  } else {
    std::map<uint32_t, int64_t> counts;
    for (const auto& [id, p] : persons_) {
      for (const Touch& t : p.touches) {
        if (t.order && q.period.Contains(t.local_day)) ++counts[t.currency];
      }
    }
    int64_t best = 0;
    for (const auto& [c, n] : counts) {
      if (n > best) {
        best = n;
        currency = c;
      }
    }
  }
  auto touchpoint = [&](const Touch& t) -> std::string {
    switch (t.type) {
      case EventType::kEmailOpened:
      case EventType::kEmailClicked: return "email";
      case EventType::kOfferImpression: return "kiosk_offer";
      case EventType::kTransaction:
      case EventType::kLoyaltyScan: return "store";
      case EventType::kIdentify:
      case EventType::kConsentUpdate: return {};
      default: {
        const std::string& c = Text(t.channel);
        return c.empty() ? std::string("web") : c;
      }
    }
  };
  std::vector<Journey> journeys;
  if (currency) {
    for (const auto& [id, p] : persons_) {
      if (filter != nullptr && filter->count(id) == 0) continue;
      size_t begin = 0;  // first touch after the previous conversion
      for (size_t i = 0; i < p.touches.size(); ++i) {
        const Touch& o = p.touches[i];
        if (!o.order || !q.period.Contains(o.local_day) || o.currency != *currency) continue;
        Journey j;
        j.converted = true;
        j.converted_at_ms = o.at_ms;
        j.revenue_cents = o.revenue_cents;
        for (size_t k = begin; k < i; ++k) {
          const Touch& t = p.touches[k];
          if (o.at_ms - t.at_ms > q.lookback_ms) continue;
          std::string c = touchpoint(t);
          if (!c.empty()) j.touches.push_back({t.at_ms, std::move(c)});
        }
        journeys.push_back(std::move(j));
        begin = i + 1;
      }
      // The rest, in the period, did not convert (yet).
      Journey rest;
      for (size_t k = begin; k < p.touches.size(); ++k) {
        const Touch& t = p.touches[k];
        if (!q.period.Contains(t.local_day)) continue;
        std::string c = touchpoint(t);
        if (!c.empty()) rest.touches.push_back({t.at_ms, std::move(c)});
      }
      if (!rest.touches.empty()) journeys.push_back(std::move(rest));
    }
  }
  AttributionOptions opt;
  opt.half_life_days = q.half_life_days;
  opt.first_share = q.first_share;
  opt.last_share = q.last_share;
  nlohmann::json models = nlohmann::json::object();
  for (const std::string& name : q.models) {
    auto model = ModelFromName(name);
    if (!model) return Status::Invalid("models: unknown model \"" + name + "\"", "models");
    Result<AttributionResult> r = Attribute(*model, journeys, opt);
    if (!r.ok()) return r.status();
    nlohmann::json channels = nlohmann::json::array();
    for (const ChannelCredit& c : r->channels) {
      channels.push_back({{"channel", c.channel},
                          {"revenue", Cents(c.revenue_cents)},
                          {"conversions", c.conversions}});
    }
    nlohmann::json m = {{"channels", std::move(channels)},
                        {"attributed_revenue", Cents(r->total_revenue_cents)},
                        {"unattributed_revenue", Cents(r->unattributed_revenue_cents)}};
    if (*model == Model::kMarkov) {
      nlohmann::json effects = nlohmann::json::object();
      for (const auto& [c, e] : r->removal_effects) effects[c] = e;
      m["removal_effects"] = std::move(effects);
    }
    models[name] = std::move(m);
  }
  int64_t conversions = 0, paths = static_cast<int64_t>(journeys.size());
  for (const Journey& j : journeys) conversions += j.converted ? 1 : 0;
  return nlohmann::json{{"currency", currency ? Text(*currency) : std::string()},
                        {"conversions", conversions},
                        {"paths", paths},
                        {"models", std::move(models)}};
}

}  // namespace cjd::hub::journeys
