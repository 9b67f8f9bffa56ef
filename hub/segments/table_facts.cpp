#include "hub/segments/table_facts.h"

#include "hub/segments/fields.h"

namespace cjd::hub::segments {
namespace {

// A money figure as the document prints it (two decimals), read back as the document's reader
// does: the same exact decimal.
FactValue MoneyFact(const std::string& fixed) {
  Result<Decimal> d = Decimal::Parse(fixed);
  if (!d.ok()) return std::monostate{};
  return *d;
}

FactValue OptionalString(const std::optional<std::string>& s) {
  if (!s) return std::monostate{};
  return *s;
}

}  // namespace

ProfileFactsNeeds NeedsOf(const std::vector<std::string>& fields) {
  ProfileFactsNeeds needs{false, false, false, false};
  for (const std::string& f : fields) {
    if (f == "favourite_store") {
      needs.favourite_store = true;
    } else if (f == "favourite_category") {
      needs.favourite_category = true;
    } else if (f == "consent" || f.starts_with(kAttributesPrefix)) {
      needs.attributes = true;
    } else if (f == "orders" || f.starts_with("revenue_") || f == "average_order_value" ||
               f.starts_with("clv_") || f == "last_order_at" || f == "days_since_last_order" ||
               f == "currency" || f.starts_with("rfm.")) {
      needs.orders = true;
    }
    // events, loyalty_scans, first_seen, last_seen, channels: the profile row, always read.
  }
  return needs;
}

ProfileFacts FactsFromRow(const ProfileFactsRow& row, const ProfileFactsNeeds& needs,
                          int64_t now_ms) {
  ProfileFacts facts;
  const bool seen = row.events > 0;
  facts.Set("first_seen", seen ? FactValue(Instant{row.first_seen_ms}) : FactValue());
  facts.Set("last_seen", seen ? FactValue(Instant{row.last_seen_ms}) : FactValue());
  facts.SetInt("events", row.events);
  facts.SetInt("loyalty_scans", row.loyalty_scans);
  facts.Set("channels", StringList(row.channels));
  if (needs.orders) {
    const Money net = row.gross - row.returns;
    facts.Set("currency", row.currency.empty() ? FactValue() : FactValue(row.currency));
    facts.SetInt("orders", row.orders);
    facts.Set("revenue_gross", MoneyFact(row.gross.ToFixed(2)));
    facts.Set("revenue_net", MoneyFact(net.ToFixed(2)));
    facts.Set("average_order_value",
              row.orders > 0 ? MoneyFact(row.gross.DivideToFixed(row.orders, 2)) : FactValue());
    facts.Set("clv_gross", MoneyFact(row.gross.ToFixed(2)));
    facts.Set("clv_net", MoneyFact(net.ToFixed(2)));
    facts.Set("last_order_at",
              row.last_order_ms ? FactValue(Instant{*row.last_order_ms}) : FactValue());
    if (row.last_order_ms) {
      facts.SetInt("days_since_last_order", (now_ms - *row.last_order_ms) / 86'400'000);
    } else {
      facts.Set("days_since_last_order", FactValue());
    }
    facts.Set("rfm.recency", row.rfm ? FactValue(Decimal(row.rfm->recency, 0)) : FactValue());
    facts.Set("rfm.frequency", row.rfm ? FactValue(Decimal(row.rfm->frequency, 0)) : FactValue());
    facts.Set("rfm.monetary", row.rfm ? FactValue(Decimal(row.rfm->monetary, 0)) : FactValue());
  }
  if (needs.favourite_store) facts.Set("favourite_store", OptionalString(row.favourite_store));
  if (needs.favourite_category) {
    facts.Set("favourite_category", OptionalString(row.favourite_category));
  }
  if (needs.attributes) {
    facts.Set("consent", row.consent.is_boolean() ? FactValue(row.consent.get<bool>())
                                                   : FactValue());
    AddAttributeFacts(row.attributes, &facts);
  }
  return facts;
}

void AddPredictionFacts(const std::optional<predictions::PredictionReader::Entry>& entry,
                        int horizon_days, ProfileFacts* facts) {
  const std::string n = std::to_string(horizon_days);
  const bool have = entry && entry->model.horizon_days == horizon_days;
  const predictions::StoredScore* s = have ? &entry->score : nullptr;
  auto four = [](double v) { return FactValue(Decimal(predictions::Round4(v), 4)); };
  facts->Set("expected_purchase_days_" + n + "d",
             s != nullptr ? four(s->expected_purchase_days) : FactValue());
  facts->Set("p_alive", s != nullptr && s->p_alive ? four(*s->p_alive) : FactValue());
  facts->Set("churn_risk", s != nullptr ? four(s->churn_risk) : FactValue());
  facts->Set("predicted_clv_" + n + "d",
             s != nullptr && s->predicted_clv_cents
                 ? MoneyFact(predictions::CentsText(*s->predicted_clv_cents))
                 : FactValue());
}

}  // namespace cjd::hub::segments
