// The canonical JSON of an event (see ToCanonicalJson in event.h): written directly into a string
// in a fixed field order, since it is on the agent's hot path.
#include <string>
#include <string_view>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd {
namespace {

// ---- canonical JSON writer -------------------------------------------------------------------

void AppendString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0x0F]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// Appends ,"key":"value" (or {"key":"value" when `*first`).
void AppendField(std::string* out, bool* first, const char* key, std::string_view value) {
  out->push_back(*first ? '{' : ',');
  *first = false;
  out->push_back('"');
  *out += key;
  *out += "\":";
  AppendString(out, value);
}

void AppendOptionalField(std::string* out, bool* first, const char* key, std::string_view value) {
  if (!value.empty()) AppendField(out, first, key, value);
}

void AppendItem(std::string* out, const Item& item) {
  bool first = true;
  AppendField(out, &first, "sku", item.sku);
  *out += ",\"quantity\":";
  *out += std::to_string(item.quantity);
  AppendField(out, &first, "unit_price", item.unit_price.ToString());
  AppendOptionalField(out, &first, "category", item.category);
  AppendOptionalField(out, &first, "description", item.description);
  AppendOptionalField(out, &first, "offer_id", item.offer_id);
  out->push_back('}');
}

void AppendOrder(std::string* out, const Order& o) {
  bool first = true;
  AppendField(out, &first, "order_id", o.order_id);
  AppendField(out, &first, "currency", o.currency);
  *out += ",\"items\":[";
  for (size_t i = 0; i < o.items.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendItem(out, o.items[i]);
  }
  out->push_back(']');
  if (o.payment.has_value()) {
    *out += ",\"payment\":";
    bool pfirst = true;
    AppendField(out, &pfirst, "method", o.payment->method);
    AppendOptionalField(out, &pfirst, "card_fingerprint", o.payment->card_fingerprint);
    out->push_back('}');
  }
  AppendOptionalField(out, &first, "offer_id", o.offer_id);
  out->push_back('}');
}

}  // namespace

std::string ToCanonicalJson(const Event& e) {
  std::string out;
  out.reserve(256 + (e.order.has_value() ? e.order->items.size() * 96 : 0));
  out += "{\"schema\":1,\"type\":";
  AppendString(&out, EventTypeName(e.type));
  if (!e.event_id.empty()) {
    out += ",\"event_id\":";
    AppendString(&out, e.event_id);
  }
  out += ",\"occurred_at\":";
  AppendString(&out, e.occurred_at);
  out += ",\"occurred_at_ms\":";
  out += std::to_string(e.occurred_at_ms);
  if (!e.store_id.empty()) {
    out += ",\"store_id\":";
    AppendString(&out, e.store_id);
  }
  out += ",\"channel\":";
  AppendString(&out, e.channel);
  if (!e.name.empty()) {
    out += ",\"name\":";
    AppendString(&out, e.name);
  }
  if (e.customer.has_value() && !e.customer->empty()) {
    out += ",\"customer\":";
    bool first = true;
    AppendOptionalField(&out, &first, "loyalty_id", e.customer->loyalty_id);
    AppendOptionalField(&out, &first, "email", e.customer->email);
    AppendOptionalField(&out, &first, "phone", e.customer->phone);
    AppendOptionalField(&out, &first, "customer_id", e.customer->customer_id);
    AppendOptionalField(&out, &first, "anonymous_id", e.customer->anonymous_id);
    out.push_back('}');
  }
  if (e.order.has_value()) {
    out += ",\"order\":";
    AppendOrder(&out, *e.order);
  }
  if (!e.properties.empty()) {
    out += ",\"properties\":";
    out += e.properties;
  }
  if (!e.attributes.empty()) {
    out += ",\"attributes\":";
    out += e.attributes;
  }
  if (e.marketing_consent.has_value()) {
    out += *e.marketing_consent ? ",\"consent\":{\"marketing\":true}"
                                : ",\"consent\":{\"marketing\":false}";
  }
  if (!e.offer_ids.empty()) {
    out += ",\"offer_ids\":[";
    for (size_t i = 0; i < e.offer_ids.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendString(&out, e.offer_ids[i]);
    }
    out.push_back(']');
  }
  if (e.redacted) out += ",\"redacted\":true";
  out.push_back('}');
  return out;
}

namespace {
void AppendValue(std::string* out, const nlohmann::json& j) {
  if (IsJsonNumber(j)) {
    *out += JsonNumberText(j);
  } else if (j.is_string()) {
    AppendString(out, j.get_ref<const std::string&>());
  } else if (j.is_object()) {
    out->push_back('{');
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {  // nlohmann objects iterate in key order
      if (!first) out->push_back(',');
      first = false;
      AppendString(out, it.key());
      out->push_back(':');
      AppendValue(out, it.value());
    }
    out->push_back('}');
  } else if (j.is_array()) {
    out->push_back('[');
    for (size_t i = 0; i < j.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendValue(out, j[i]);
    }
    out->push_back(']');
  } else {
    *out += j.dump();  // null, true, false
  }
}
}  // namespace

std::string CanonicalJsonValue(const nlohmann::json& j) {
  std::string out;
  AppendValue(&out, j);
  return out;
}

}  // namespace cjd
