// JourneyIndex::WebMetrics: the web and commerce metrics of GET /v1/metrics/web. The definitions
// are in hub/journeys/README.md; each is computed in one pass over the persons' touches.
#include <map>

#include "hub/journeys/journey_index.h"

namespace cjd::hub::journeys {
namespace {

bool IsWebType(EventType t) {
  switch (t) {
    case EventType::kPageView:
    case EventType::kProductView:
    case EventType::kAddToCart:
    case EventType::kRemoveFromCart:
    case EventType::kCheckoutStarted:
    case EventType::kOrderCompleted:
      return true;
    default:
      return false;
  }
}
bool IsView(EventType t) { return t == EventType::kPageView || t == EventType::kProductView; }

nlohmann::json Ratio(int64_t num, int64_t den) {
  if (den == 0) return nullptr;
  return static_cast<double>(num) / static_cast<double>(den);
}

struct Counts {
  int64_t visitors = 0, sessions = 0, page_views = 0, product_views = 0, add_to_carts = 0,
          orders = 0, bounced = 0, engaged = 0, converted_sessions = 0, viewers = 0,
          carters = 0, carters_no_order = 0, checkouts = 0, checkouts_no_order = 0,
          ordering_visitors = 0;

  nlohmann::json Json() const {
    return {{"visitors", visitors},
            {"sessions", sessions},
            {"page_views", page_views},
            {"product_views", product_views},
            {"add_to_carts", add_to_carts},
            {"orders", orders},
            {"page_views_per_session", Ratio(page_views + product_views, sessions)},
            {"bounce_rate", Ratio(bounced, sessions)},
            {"engagement_rate", Ratio(engaged, sessions)},
            {"add_to_cart_rate", Ratio(carters, viewers)},
            {"cart_abandonment_rate", Ratio(carters_no_order, carters)},
            {"checkout_abandonment_rate", Ratio(checkouts_no_order, checkouts)},
            {"conversion_rate", Ratio(ordering_visitors, visitors)},
            {"session_conversion_rate", Ratio(converted_sessions, sessions)}};
  }
};

struct SessionAgg {
  bool web = false, seen = false, order = false;
  int32_t first_day = 0;
  int64_t first_ms = 0, last_ms = 0;
  int64_t events = 0, views = 0;
};

struct VisitorAgg {
  bool web = false, view = false, cart = false, checkout = false, order = false;
};

}  // namespace

nlohmann::json JourneyIndex::WebMetrics(const WebQuery& q, PersonFilter filter) const {
  std::optional<uint32_t> channel = q.channel.empty() ? std::optional<uint32_t>() : Find(q.channel);
  std::optional<uint32_t> store = q.store.empty() ? std::optional<uint32_t>() : Find(q.store);
  const bool none = (!q.channel.empty() && !channel) || (!q.store.empty() && !store);
  Counts all;
  std::map<int32_t, Counts> days;
  std::vector<SessionAgg> sessions;
  std::map<int32_t, VisitorAgg> visitor_days;
  for (const auto& [id, person] : persons_) {
    if (none) break;
    if (filter != nullptr && filter->count(id) == 0) continue;
    sessions.assign(static_cast<size_t>(person.sessions), SessionAgg{});
    visitor_days.clear();
    VisitorAgg v;
    for (const Touch& t : person.touches) {
      if (!q.period.Contains(t.local_day)) continue;
      if (channel && t.channel != *channel) continue;
      if (store && t.store != *store) continue;
      SessionAgg& s = sessions[static_cast<size_t>(t.session)];
      if (!s.seen) {
        s.seen = true;
        s.first_day = t.local_day;
        s.first_ms = t.at_ms;
      }
      s.last_ms = t.at_ms;
      ++s.events;
      VisitorAgg& vd = visitor_days[t.local_day];
      Counts& day = days[t.local_day];
      if (IsWebType(t.type)) {
        s.web = true;
        v.web = vd.web = true;
      }
      if (IsView(t.type)) {
        ++s.views;
        v.view = vd.view = true;
        if (t.type == EventType::kPageView) {
          ++all.page_views;
          ++day.page_views;
        } else {
          ++all.product_views;
          ++day.product_views;
        }
      }
      if (t.type == EventType::kAddToCart) {
        v.cart = vd.cart = true;
        ++all.add_to_carts;
        ++day.add_to_carts;
      }
      if (t.type == EventType::kCheckoutStarted) v.checkout = vd.checkout = true;
      if (t.order) {
        s.order = true;
        v.order = vd.order = true;
        ++all.orders;
        ++day.orders;
      }
    }
    auto visitor = [](Counts& c, const VisitorAgg& a) {
      if (!a.web) return;
      ++c.visitors;
      if (a.view) ++c.viewers;
      if (a.cart) {
        ++c.carters;
        if (!a.order) ++c.carters_no_order;
      }
      if (a.checkout) {
        ++c.checkouts;
        if (!a.order) ++c.checkouts_no_order;
      }
      if (a.order) ++c.ordering_visitors;
    };
    visitor(all, v);
    for (const auto& [day, a] : visitor_days) visitor(days[day], a);
    for (const SessionAgg& s : sessions) {
      if (!s.web) continue;
      const bool bounce = s.events == 1 && s.views == 1;
      const bool engaged = s.last_ms - s.first_ms > 10'000 || s.order || s.views >= 2;
      for (Counts* c : {&all, &days[s.first_day]}) {
        ++c->sessions;
        if (bounce) ++c->bounced;
        if (engaged) ++c->engaged;
        if (s.order) ++c->converted_sessions;
      }
    }
  }
  nlohmann::json out = all.Json();
  nlohmann::json daily = nlohmann::json::array();
  for (const auto& [day, c] : days) {
    if (c.visitors == 0 && c.sessions == 0) continue;  // store-only days
    nlohmann::json d = c.Json();
    d["date"] = DayText(day);
    daily.push_back(std::move(d));
  }
  out["daily"] = std::move(daily);
  return out;
}

}  // namespace cjd::hub::journeys
