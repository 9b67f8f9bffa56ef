// Event schema v1: validation of POS input (see the contract in event.h) and the canonical JSON
// form that the outbox stores and the hub receives.
#include "shared/event/event.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/event/json_exact.h"
#include "shared/event/json_scan.h"

namespace cjd {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxItems = 1000;
constexpr int64_t kMaxQuantity = 1'000'000;
const Decimal kMaxUnitPrice(1'000'000'000'000, 0);  // 1e12
constexpr const char* kPriceRule = "must be a decimal >= 0 with at most 9 decimals";

// ---- JSON access helpers -------------------------------------------------------------------

bool IsPlainString(const json& j) {
  return j.is_string() && !IsJsonNumber(j);  // a raw number is a string only in its storage
}

// The member `key`, or null when absent. An explicit JSON null counts as absent.
const json* Member(const json& obj, std::string_view key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Got(const json& j) { return std::string(" (got ") + JsonTypeName(j) + ")"; }

Status CheckKnownFields(const json& obj, std::initializer_list<std::string_view> known) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool found = false;
    for (std::string_view k : known) {
      if (it.key() == k) {
        found = true;
        break;
      }
    }
    if (!found) {
      std::string msg = "unknown field; expected one of:";
      bool first = true;
      for (std::string_view k : known) {
        msg += first ? " " : ", ";
        msg += k;
        first = false;
      }
      return Status::Invalid(std::move(msg), it.key());
    }
  }
  return Status::Ok();
}

// Unicode code points in valid UTF-8 (the parser has validated the encoding).
size_t CountChars(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Reads a string member with `min_len`..`max_len` characters and no control characters.
// Absent (or null) is fine unless `required`; then `*out` is left as it is.
Status ReadString(const json& obj, const char* key, bool required, size_t min_len, size_t max_len,
                  std::string* out) {
  const json* v = Member(obj, key);
  if (v == nullptr) return required ? Status::Invalid("is required", key) : Status::Ok();
  if (!IsPlainString(*v)) return Status::Invalid("must be a string" + Got(*v), key);
  const auto& s = v->get_ref<const std::string&>();
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return Status::Invalid("must not contain control characters", key);
  }
  const size_t n = CountChars(s);
  if (n < min_len) {
    return Status::Invalid(min_len == 1
                               ? std::string("must not be empty")
                               : "must have at least " + std::to_string(min_len) + " characters",
                           key);
  }
  if (n > max_len) {
    return Status::Invalid("must have at most " + std::to_string(max_len) + " characters", key);
  }
  *out = s;
  return Status::Ok();
}

Status RequireObject(const json& j) {
  if (!j.is_object()) return Status::Invalid("must be an object" + Got(j));
  return Status::Ok();
}

// ---- field rules -----------------------------------------------------------------------------

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

Status ValidateCustomer(const json& j, Customer* c) {
  CJD_RETURN_IF_ERROR(RequireObject(j));
  CJD_RETURN_IF_ERROR(
      CheckKnownFields(j, {"loyalty_id", "email", "phone", "customer_id", "anonymous_id"}));
  CJD_RETURN_IF_ERROR(ReadString(j, "loyalty_id", false, 1, 64, &c->loyalty_id));
  CJD_RETURN_IF_ERROR(ReadString(j, "email", false, 1, 254, &c->email));
  if (!c->email.empty() && !IsValidEmail(c->email)) {
    return Status::Invalid("must be an email address (one '@' between a name and a domain)",
                           "email");
  }
  CJD_RETURN_IF_ERROR(ReadString(j, "phone", false, 1, 40, &c->phone));
  if (!c->phone.empty() && !IsValidPhone(c->phone)) {
    return Status::Invalid(
        "must be a phone number: 5 to 20 digits with optional spaces and + - ( ) .", "phone");
  }
  CJD_RETURN_IF_ERROR(ReadString(j, "customer_id", false, 1, 64, &c->customer_id));
  CJD_RETURN_IF_ERROR(ReadString(j, "anonymous_id", false, 1, 128, &c->anonymous_id));
  if (c->empty()) {
    return Status::Invalid(
        "must contain at least one of loyalty_id, email, phone, customer_id, anonymous_id");
  }
  return Status::Ok();
}

Status ReadQuantity(const json& item, int64_t* out) {
  const json* q = Member(item, "quantity");
  if (q == nullptr) return Status::Invalid("is required", "quantity");
  if (!q->is_number_integer()) {
    return Status::Invalid("must be a non-zero integer" + Got(*q), "quantity");
  }
  const auto range_error = [] {
    return Status::Invalid("must be between -1000000 and 1000000", "quantity");
  };
  if (q->is_number_unsigned()) {
    const auto u = q->get<uint64_t>();
    if (u > static_cast<uint64_t>(kMaxQuantity)) return range_error();
    *out = static_cast<int64_t>(u);
  } else {
    const auto v = q->get<int64_t>();
    if (v > kMaxQuantity || v < -kMaxQuantity) return range_error();
    *out = v;
  }
  if (*out == 0) return Status::Invalid("must be a non-zero integer", "quantity");
  return Status::Ok();
}

Status ReadUnitPrice(const json& item, Decimal* out) {
  const json* p = Member(item, "unit_price");
  if (p == nullptr) return Status::Invalid("is required", "unit_price");
  std::string text;
  if (IsJsonNumber(*p)) {
    text = JsonNumberText(*p);
  } else if (p->is_string()) {
    text = p->get_ref<const std::string&>();
  } else {
    return Status::Invalid(
        std::string(kPriceRule) + ", as a JSON number or a string like \"12.50\"" + Got(*p),
        "unit_price");
  }
  Result<Decimal> d = Decimal::Parse(text);
  if (!d.ok()) {
    return Status::Invalid(std::string(kPriceRule) + " (" + d.status().message() + ")",
                           "unit_price");
  }
  if (d->is_negative()) {
    return Status::Invalid(std::string(kPriceRule) + " (negative)", "unit_price");
  }
  if (kMaxUnitPrice < *d) return Status::Invalid("must be at most 1000000000000", "unit_price");
  *out = *d;
  return Status::Ok();
}

Status ValidateItem(const json& j, Item* item) {
  CJD_RETURN_IF_ERROR(RequireObject(j));
  CJD_RETURN_IF_ERROR(CheckKnownFields(
      j, {"sku", "quantity", "unit_price", "category", "description", "offer_id"}));
  CJD_RETURN_IF_ERROR(ReadString(j, "sku", true, 1, 64, &item->sku));
  CJD_RETURN_IF_ERROR(ReadQuantity(j, &item->quantity));
  CJD_RETURN_IF_ERROR(ReadUnitPrice(j, &item->unit_price));
  CJD_RETURN_IF_ERROR(ReadString(j, "category", false, 0, 256, &item->category));
  CJD_RETURN_IF_ERROR(ReadString(j, "description", false, 0, 512, &item->description));
  CJD_RETURN_IF_ERROR(ReadString(j, "offer_id", false, 0, 64, &item->offer_id));
  return Status::Ok();
}

Status ValidatePayment(const json& j, Payment* p) {
  CJD_RETURN_IF_ERROR(RequireObject(j));
  CJD_RETURN_IF_ERROR(CheckKnownFields(j, {"method", "card_fingerprint"}));
  CJD_RETURN_IF_ERROR(ReadString(j, "method", true, 1, 32, &p->method));
  CJD_RETURN_IF_ERROR(ReadString(j, "card_fingerprint", false, 1, 128, &p->card_fingerprint));
  return Status::Ok();
}

Status ValidateOrder(const json& j, Order* o) {
  CJD_RETURN_IF_ERROR(RequireObject(j));
  CJD_RETURN_IF_ERROR(
      CheckKnownFields(j, {"order_id", "currency", "items", "payment", "offer_id"}));
  CJD_RETURN_IF_ERROR(ReadString(j, "order_id", true, 1, 64, &o->order_id));
  CJD_RETURN_IF_ERROR(ReadString(j, "currency", true, 1, SIZE_MAX, &o->currency));
  if (!IsCurrencyCode(o->currency)) {
    return Status::Invalid("is not an ISO 4217 currency code (upper case, like EUR)", "currency");
  }
  const json* items = Member(j, "items");
  if (items == nullptr) return Status::Invalid("is required", "items");
  if (!items->is_array()) return Status::Invalid("must be an array" + Got(*items), "items");
  if (items->empty()) return Status::Invalid("must contain at least one item", "items");
  if (items->size() > kMaxItems) {
    return Status::Invalid("must contain at most " + std::to_string(kMaxItems) + " items", "items");
  }
  o->items.resize(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    Status st = ValidateItem((*items)[i], &o->items[i]);
    if (!st.ok()) return st.WithFieldPrefix("items[" + std::to_string(i) + "]");
  }
  if (const json* payment = Member(j, "payment")) {
    Payment p;
    Status st = ValidatePayment(*payment, &p);
    if (!st.ok()) return st.WithFieldPrefix("payment");
    o->payment = std::move(p);
  }
  CJD_RETURN_IF_ERROR(ReadString(j, "offer_id", false, 0, 64, &o->offer_id));
  return Status::Ok();
}

// ---- properties and attributes ---------------------------------------------------------------

constexpr size_t kMaxPropertiesBytes = 64 * 1024;
constexpr int kMaxPropertiesDepth = 8;
constexpr size_t kMaxAttributes = 200;
constexpr size_t kMaxAttributeChars = 1024;

Status CheckDepth(const json& j, int depth) {
  if (!j.is_object() && !j.is_array()) return Status::Ok();
  if (depth > kMaxPropertiesDepth) {
    return Status::Invalid("must not nest deeper than " + std::to_string(kMaxPropertiesDepth) +
                           " levels");
  }
  for (const auto& v : j) CJD_RETURN_IF_ERROR(CheckDepth(v, depth + 1));
  return Status::Ok();
}

Status ReadProperties(const json& j, std::string* out) {
  const json* p = Member(j, "properties");
  if (p == nullptr) return Status::Ok();
  if (!p->is_object()) return Status::Invalid("must be an object" + Got(*p), "properties");
  CJD_RETURN_IF_ERROR(CheckDepth(*p, 1).WithFieldPrefix("properties"));
  std::string text = CanonicalJsonValue(*p);
  if (text.size() > kMaxPropertiesBytes) {
    return Status::Invalid("must be at most " + std::to_string(kMaxPropertiesBytes) +
                               " bytes as JSON",
                           "properties");
  }
  if (text != "{}") *out = std::move(text);
  return Status::Ok();
}

bool IsAttributeKey(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  for (const char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Status ReadAttributes(const json& j, std::string* out) {
  const json* a = Member(j, "attributes");
  if (a == nullptr) return Status::Ok();
  if (!a->is_object()) return Status::Invalid("must be an object" + Got(*a), "attributes");
  if (a->size() > kMaxAttributes) {
    return Status::Invalid("must have at most " + std::to_string(kMaxAttributes) + " keys",
                           "attributes");
  }
  for (auto it = a->begin(); it != a->end(); ++it) {
    const std::string path = "attributes." + it.key();
    if (!IsAttributeKey(it.key())) {
      return Status::Invalid("attribute names are 1..64 of [a-z0-9_]", path);
    }
    const json& v = it.value();
    if (v.is_null() || v.is_boolean() || IsJsonNumber(v)) continue;
    if (!IsPlainString(v)) {
      return Status::Invalid("must be a string, number, true/false or null" + Got(v), path);
    }
    const auto& s = v.get_ref<const std::string&>();
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) {
        return Status::Invalid("must not contain control characters", path);
      }
    }
    if (CountChars(s) > kMaxAttributeChars) {
      return Status::Invalid("must have at most " + std::to_string(kMaxAttributeChars) +
                                 " characters",
                             path);
    }
  }
  if (!a->empty()) *out = CanonicalJsonValue(*a);
  return Status::Ok();
}

std::string AllowedTypesText(EventTypeSet allowed) {
  std::string s = "must be one of: ";
  bool first = true;
  for (EventType t : kAllEventTypeList) {
    if ((allowed & TypeBit(t)) == 0) continue;
    if (!first) s += ", ";
    s += EventTypeName(t);
    first = false;
  }
  return s;
}

}  // namespace

const char* DefaultChannel(EventType t) {
  switch (t) {
    case EventType::kTransaction:
    case EventType::kLoyaltyScan: return "store";
    case EventType::kEmailOpened:
    case EventType::kEmailClicked: return "email";
    case EventType::kSupportContact: return "support";
    case EventType::kConsentUpdate:
    case EventType::kOfferImpression: return "store";
    default: return "web";
  }
}

// ---- event types -----------------------------------------------------------------------------

bool IsValidEmail(std::string_view s) {
  // Surrounding spaces are tolerated (the hub normalises them away); inner ones are not.
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return false;
  if (s.find('@', at + 1) != std::string_view::npos) return false;
  for (const char c : s) {
    if (c == ' ') return false;
  }
  return true;
}

bool IsValidPhone(std::string_view s) {
  int digits = 0;
  for (const char c : s) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')' && c != '.') {
      return false;
    }
  }
  return digits >= 5 && digits <= 20;
}

std::string_view EventTypeName(EventType t) {
  switch (t) {
    case EventType::kTransaction: return "transaction";
    case EventType::kLoyaltyScan: return "loyalty_scan";
    case EventType::kIdentify: return "identify";
    case EventType::kPageView: return "page_view";
    case EventType::kProductView: return "product_view";
    case EventType::kAddToCart: return "add_to_cart";
    case EventType::kRemoveFromCart: return "remove_from_cart";
    case EventType::kCheckoutStarted: return "checkout_started";
    case EventType::kOrderCompleted: return "order_completed";
    case EventType::kEmailOpened: return "email_opened";
    case EventType::kEmailClicked: return "email_clicked";
    case EventType::kSupportContact: return "support_contact";
    case EventType::kConsentUpdate: return "consent_update";
    case EventType::kOfferImpression: return "offer_impression";
    case EventType::kTrack: return "track";
  }
  return "unknown";
}

std::optional<EventType> EventTypeFromName(std::string_view name) {
  for (EventType t : kAllEventTypeList) {
    if (EventTypeName(t) == name) return t;
  }
  return std::nullopt;
}

EventClass ClassOf(EventType t) {
  // Offer impressions are telemetry: the outbox drops them first (counted) to keep room for
  // sales. Every other type is a business event, never dropped.
  return t == EventType::kOfferImpression ? EventClass::kTelemetry : EventClass::kBusiness;
}

// ---- validation ------------------------------------------------------------------------------

Result<Event> ValidateEvent(const nlohmann::json& j, EventTypeSet allowed) {
  if (!j.is_object()) return Status::Invalid("must be an event object" + Got(j));
  CJD_RETURN_IF_ERROR(CheckKnownFields(j, {"schema", "type", "event_id", "occurred_at", "store_id",
                                           "channel", "customer", "order", "properties",
                                           "attributes", "consent", "offer_ids", "name"}));
  Event e;
  if (const json* schema = Member(j, "schema")) {
    if (!schema->is_number_integer() || *schema != 1) {
      return Status::Invalid("must be 1 (the only schema version)", "schema");
    }
  }

  std::string type;
  CJD_RETURN_IF_ERROR(ReadString(j, "type", true, 1, 64, &type));
  const std::optional<EventType> t = EventTypeFromName(type);
  if (!t.has_value() || (allowed & TypeBit(*t)) == 0) {
    return Status::Invalid(AllowedTypesText(allowed), "type");
  }
  e.type = *t;
  const bool pos_type = e.type == EventType::kTransaction || e.type == EventType::kLoyaltyScan ||
                        e.type == EventType::kOfferImpression;

  CJD_RETURN_IF_ERROR(ReadString(j, "event_id", false, 1, 128, &e.event_id));
  for (const char c : e.event_id) {
    if (!IsIdChar(c)) {
      return Status::Invalid("must contain only letters, digits and . _ : -", "event_id");
    }
  }

  CJD_RETURN_IF_ERROR(ReadString(j, "occurred_at", true, 1, 64, &e.occurred_at));
  Result<int64_t> ms = ParseRfc3339(e.occurred_at);
  if (!ms.ok()) return Status::Invalid(ms.status().message(), "occurred_at");
  e.occurred_at_ms = *ms;

  CJD_RETURN_IF_ERROR(ReadString(j, "store_id", pos_type, 1, 64, &e.store_id));
  e.channel = DefaultChannel(e.type);
  CJD_RETURN_IF_ERROR(ReadString(j, "channel", false, 1, 32, &e.channel));

  if (const json* customer = Member(j, "customer")) {
    Customer c;
    Status st = ValidateCustomer(*customer, &c);
    if (!st.ok()) return st.WithFieldPrefix("customer");
    e.customer = std::move(c);
  }
  if (e.type == EventType::kLoyaltyScan) {
    if (!e.customer.has_value()) return Status::Invalid("is required for loyalty_scan", "customer");
    if (e.customer->loyalty_id.empty()) {
      return Status::Invalid("is required for loyalty_scan", "customer.loyalty_id");
    }
  }

  if ((e.type == EventType::kIdentify || e.type == EventType::kConsentUpdate) &&
      !e.customer.has_value()) {
    return Status::Invalid("is required for " + std::string(EventTypeName(e.type)), "customer");
  }
  const json* consent = Member(j, "consent");
  if (e.type == EventType::kConsentUpdate) {
    if (consent == nullptr) return Status::Invalid("is required for consent_update", "consent");
    if (!consent->is_object()) return Status::Invalid("must be an object" + Got(*consent), "consent");
    CJD_RETURN_IF_ERROR(CheckKnownFields(*consent, {"marketing"}).WithFieldPrefix("consent"));
    const json* m = Member(*consent, "marketing");
    if (m == nullptr) return Status::Invalid("is required", "consent.marketing");
    if (!m->is_boolean()) return Status::Invalid("must be true or false" + Got(*m), "consent.marketing");
    e.marketing_consent = m->get<bool>();
  } else if (consent != nullptr) {
    return Status::Invalid("only allowed for consent_update", "consent");
  }
  const json* offers = Member(j, "offer_ids");
  if (e.type == EventType::kOfferImpression) {
    if (offers == nullptr) return Status::Invalid("is required for offer_impression", "offer_ids");
    if (!offers->is_array()) return Status::Invalid("must be an array" + Got(*offers), "offer_ids");
    if (offers->empty() || offers->size() > 50) {
      return Status::Invalid("must hold 1 to 50 offer ids", "offer_ids");
    }
    e.offer_ids.reserve(offers->size());
    for (size_t i = 0; i < offers->size(); ++i) {
      const json& id = (*offers)[i];
      auto path = [i] { return "offer_ids[" + std::to_string(i) + "]"; };  // only for an error
      if (!IsPlainString(id)) return Status::Invalid("must be a string" + Got(id), path());
      const auto& s = id.get_ref<const std::string&>();
      if (s.empty() || s.size() > 64) return Status::Invalid("must have 1 to 64 characters", path());
      for (const char c : s) {
        if (!IsIdChar(c)) {
          return Status::Invalid("must contain only letters, digits and . _ : -", path());
        }
      }
      e.offer_ids.push_back(s);
    }
  } else if (offers != nullptr) {
    return Status::Invalid("only allowed for offer_impression", "offer_ids");
  }

  const json* order = Member(j, "order");
  if (HasOrder(e.type)) {
    if (order == nullptr) {
      return Status::Invalid("is required for " + std::string(EventTypeName(e.type)), "order");
    }
    Order o;
    Status st = ValidateOrder(*order, &o);
    if (!st.ok()) return st.WithFieldPrefix("order");
    e.order = std::move(o);
  } else if (order != nullptr) {
    return Status::Invalid("only allowed for transaction and order_completed", "order");
  }
  CJD_RETURN_IF_ERROR(ReadProperties(j, &e.properties));
  if (e.type == EventType::kTrack) {
    CJD_RETURN_IF_ERROR(ReadString(j, "name", true, 1, 128, &e.name));
  } else if (Member(j, "name") != nullptr) {
    return Status::Invalid("only allowed for track", "name");
  }
  if (e.type == EventType::kIdentify) {
    CJD_RETURN_IF_ERROR(ReadAttributes(j, &e.attributes));
  } else if (Member(j, "attributes") != nullptr) {
    return Status::Invalid("only allowed for identify", "attributes");
  }
  return e;
}

Result<std::vector<Event>> ValidateEventBody(const nlohmann::json& j, size_t max_events,
                                             EventTypeSet allowed) {
  std::vector<Event> events;
  if (j.is_object()) {
    Result<Event> e = ValidateEvent(j, allowed);
    if (!e.ok()) return e.status();
    events.push_back(std::move(*e));
    return events;
  }
  if (!j.is_array()) {
    return Status::Invalid("must be an event object or an array of events" + Got(j));
  }
  if (j.empty()) return Status::Invalid("must contain at least one event");
  if (j.size() > max_events) {
    return Status(Code::kTooLarge,
                  "must contain at most " + std::to_string(max_events) + " events");
  }
  events.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    Result<Event> e = ValidateEvent(j[i], allowed);
    if (!e.ok()) return e.status().WithFieldPrefix("[" + std::to_string(i) + "]");
    events.push_back(std::move(*e));
  }
  return events;
}

Result<Event> EventFromCanonical(std::string_view json_text) {
  Result<nlohmann::json> parsed = ParseJsonExact(json_text);
  if (!parsed.ok()) return parsed.status();
  nlohmann::json& j = *parsed;
  if (!j.is_object()) return Status::Invalid("must be an event object" + Got(j));
  // A redacted body (RedactedEventJson) lost the customer that some types require: it is
  // validated with a stand-in, which is then dropped.
  bool redacted = false;
  if (auto it = j.find("redacted"); it != j.end()) {
    if (*it != true) return Status::Invalid("must be true" + Got(*it), "redacted");
    if (j.contains("customer")) return Status::Invalid("a redacted event has no customer", "customer");
    if (j.contains("attributes")) {
      return Status::Invalid("a redacted event has no attributes", "attributes");
    }
    if (auto order = j.find("order"); order != j.end() && order->is_object()) {
      if (auto pay = order->find("payment"); pay != order->end() && pay->is_object() &&
                                             pay->contains("card_fingerprint")) {
        return Status::Invalid("a redacted event has no card fingerprint",
                               "order.payment.card_fingerprint");
      }
    }
    redacted = true;
    j.erase(it);
    j["customer"] = {{"loyalty_id", "redacted"}};
  }
  std::optional<int64_t> stored_ms;
  if (auto it = j.find("occurred_at_ms"); it != j.end()) {
    if (!it->is_number_integer()) {
      return Status::Invalid("must be an integer" + Got(*it), "occurred_at_ms");
    }
    stored_ms = it->get<int64_t>();
    j.erase(it);
  }
  Result<Event> e = ValidateEvent(j);
  if (!e.ok()) return e.status();
  if (stored_ms.has_value() && *stored_ms != e->occurred_at_ms) {
    return Status::Invalid("does not match occurred_at", "occurred_at_ms");
  }
  if (redacted) {
    e->customer.reset();
    e->redacted = true;
  }
  return e;
}

std::string RedactedEventJson(std::string_view json_text) {
  Result<nlohmann::json> parsed = ParseJsonExact(json_text);
  if (!parsed.ok() || !parsed->is_object() || parsed->contains("redacted")) {
    return std::string(json_text);
  }
  nlohmann::json& j = *parsed;
  j.erase("customer");
  j.erase("attributes");
  if (auto order = j.find("order"); order != j.end() && order->is_object()) {
    if (auto pay = order->find("payment"); pay != order->end() && pay->is_object()) {
      pay->erase("card_fingerprint");
    }
  }
  j["redacted"] = true;
  return CanonicalJsonValue(j);
}

namespace {

// The DOM versions of SplitPersonal and JoinPersonal, for what the scanner does not read.
PersonalSplit SplitPersonalDom(std::string_view json_text) {
  PersonalSplit out;
  Result<nlohmann::json> parsed = ParseJsonExact(json_text);
  if (!parsed.ok() || !parsed->is_object() || parsed->contains("redacted")) {
    out.rest = std::string(json_text);
    return out;
  }
  nlohmann::json& j = *parsed;
  nlohmann::json personal = nlohmann::json::object();
  if (auto it = j.find("customer"); it != j.end()) {
    personal["customer"] = std::move(*it);
    j.erase(it);
  }
  if (auto it = j.find("attributes"); it != j.end()) {
    personal["attributes"] = std::move(*it);
    j.erase(it);
  }
  if (auto order = j.find("order"); order != j.end() && order->is_object()) {
    if (auto pay = order->find("payment"); pay != order->end() && pay->is_object()) {
      if (auto card = pay->find("card_fingerprint"); card != pay->end()) {
        personal["card_fingerprint"] = std::move(*card);
        pay->erase(card);
      }
    }
  }
  if (personal.empty()) {
    out.rest = std::string(json_text);
    return out;
  }
  out.rest = CanonicalJsonValue(j);
  out.personal = CanonicalJsonValue(personal);
  return out;
}

Result<std::string> JoinPersonalDom(std::string_view rest, std::string_view personal) {
  Result<nlohmann::json> body = ParseJsonExact(rest);
  if (!body.ok()) return body.status();
  Result<nlohmann::json> part = ParseJsonExact(personal);
  if (!part.ok()) return part.status();
  if (!body->is_object()) return Status::Invalid("the stored event is not an object", "body");
  if (!part->is_object()) return Status::Invalid("the sealed part is not an object", "pii");
  nlohmann::json& j = *body;
  for (auto& [key, value] : part->items()) {
    if (key == "card_fingerprint") {
      auto order = j.find("order");
      if (order == j.end() || !order->is_object()) {
        return Status::Invalid("a card fingerprint without an order", "pii");
      }
      (*order)["payment"]["card_fingerprint"] = std::move(value);
    } else if (key == "customer" || key == "attributes") {
      j[key] = std::move(value);
    } else {
      return Status::Invalid("unknown field in the sealed part: " + key, "pii");
    }
  }
  return CanonicalJsonValue(j);
}

// "{" + members + "}", skipping the ones `drop` names, with `replace` substituted for `order`'s.
std::string Rebuild(const std::vector<JsonMember>& members,
                    const std::function<bool(const JsonMember&)>& drop,
                    std::string_view replaced_key = {}, std::string_view replacement = {}) {
  std::string out = "{";
  size_t size = 2 + replacement.size();
  for (const JsonMember& m : members) size += m.text.size() + 1;
  out.reserve(size);
  for (const JsonMember& m : members) {
    if (drop(m)) continue;
    if (out.size() > 1) out.push_back(',');
    if (!replaced_key.empty() && m.key == replaced_key) {
      out.push_back('"');
      out.append(m.key);
      out.append("\":");
      out.append(replacement);
    } else {
      out.append(m.text);
    }
  }
  out.push_back('}');
  return out;
}

// `text` (an object) with `members` inserted first.
std::string Prepend(std::string_view text, std::string_view members) {
  const size_t open = text.find('{');
  std::string out;
  out.reserve(text.size() + members.size() + 1);
  out.append(text.substr(0, open + 1));
  out.append(members);
  size_t k = open + 1;
  while (k < text.size() && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r')) ++k;
  if (k < text.size() && text[k] != '}') out.push_back(',');
  out.append(text.substr(open + 1));
  return out;
}

}  // namespace

// The scanner's way (json_scan.h): members moved as text, nothing parsed or printed, so the cost
// does not grow with the order's items. Keys it cannot read as written go the DOM's way.
PersonalSplit SplitPersonal(std::string_view json_text) {
  std::vector<JsonMember> top;
  if (!ScanObject(json_text, &top)) return SplitPersonalDom(json_text);
  const JsonMember* customer = nullptr;
  const JsonMember* attributes = nullptr;
  const JsonMember* order = nullptr;
  for (const JsonMember& m : top) {
    const JsonMember** slot = m.key == "customer"     ? &customer
                              : m.key == "attributes" ? &attributes
                              : m.key == "order"      ? &order
                                                      : nullptr;
    if (m.key == "redacted") return SplitPersonalDom(json_text);
    if (slot == nullptr) continue;
    if (*slot != nullptr) return SplitPersonalDom(json_text);  // a duplicate: the DOM decides
    *slot = &m;
  }
  std::string_view card;
  std::string new_order;
  // Only an order that names a card is read member by member (items are most of an event).
  if (order != nullptr && !order->value.empty() && order->value.front() == '{' &&
      order->value.find("card_fingerprint") != std::string_view::npos) {
    std::vector<JsonMember> order_members;
    if (!ScanObject(order->value, &order_members)) return SplitPersonalDom(json_text);
    const JsonMember* payment = nullptr;
    for (const JsonMember& m : order_members) {
      if (m.key != "payment") continue;
      if (payment != nullptr) return SplitPersonalDom(json_text);
      payment = &m;
    }
    if (payment != nullptr && !payment->value.empty() && payment->value.front() == '{') {
      std::vector<JsonMember> pay_members;
      if (!ScanObject(payment->value, &pay_members)) return SplitPersonalDom(json_text);
      int cards = 0;
      for (const JsonMember& m : pay_members) {
        if (m.key == "card_fingerprint") {
          card = m.value;
          ++cards;
        }
      }
      if (cards > 1) return SplitPersonalDom(json_text);
      if (cards == 1) {
        const std::string new_payment = Rebuild(
            pay_members, [](const JsonMember& m) { return m.key == "card_fingerprint"; });
        new_order = Rebuild(order_members, [](const JsonMember&) { return false; }, "payment",
                            new_payment);
      }
    }
  }
  PersonalSplit out;
  if (customer == nullptr && attributes == nullptr && card.empty()) {
    out.rest = std::string(json_text);
    return out;
  }
  out.rest = Rebuild(
      top,
      [&](const JsonMember& m) { return &m == customer || &m == attributes; },
      new_order.empty() ? std::string_view() : std::string_view("order"), new_order);
  // Keys in sorted order, as CanonicalJsonValue would write them.
  out.personal = "{";
  auto add = [&](std::string_view key, std::string_view value) {
    if (out.personal.size() > 1) out.personal.push_back(',');
    out.personal.push_back('"');
    out.personal.append(key);
    out.personal.append("\":");
    out.personal.append(value);
  };
  if (attributes != nullptr) add("attributes", attributes->value);
  if (!card.empty()) add("card_fingerprint", card);
  if (customer != nullptr) add("customer", customer->value);
  out.personal.push_back('}');
  return out;
}

Result<std::string> JoinPersonal(std::string_view rest, std::string_view personal) {
  std::vector<JsonMember> parts;
  std::vector<JsonMember> top;
  if (!ScanObject(personal, &parts) || !ScanObject(rest, &top)) {
    return JoinPersonalDom(rest, personal);
  }
  std::string first;   // customer and attributes, first members of the event
  std::string_view card;
  for (const JsonMember& p : parts) {
    if (p.key == "customer" || p.key == "attributes") {
      if (!first.empty()) first.push_back(',');
      first.append(p.text);
    } else if (p.key == "card_fingerprint") {
      card = p.value;
    } else {
      return Status::Invalid("unknown field in the sealed part: " + std::string(p.key), "pii");
    }
  }
  for (const JsonMember& m : top) {
    if (m.key == "customer" || m.key == "attributes") return JoinPersonalDom(rest, personal);
  }
  if (card.empty()) return first.empty() ? std::string(rest) : Prepend(rest, first);
  // The card goes back into order.payment.
  const JsonMember* order = nullptr;
  for (const JsonMember& m : top) {
    if (m.key == "order") order = &m;
  }
  std::vector<JsonMember> order_members;
  if (order == nullptr || !ScanObject(order->value, &order_members)) {
    return JoinPersonalDom(rest, personal);
  }
  const JsonMember* payment = nullptr;
  for (const JsonMember& m : order_members) {
    if (m.key == "payment") payment = &m;
  }
  if (payment == nullptr || payment->value.empty() || payment->value.front() != '{') {
    return JoinPersonalDom(rest, personal);
  }
  std::string card_member = "\"card_fingerprint\":";
  card_member.append(card);
  const std::string new_order =
      Rebuild(order_members, [](const JsonMember&) { return false; }, "payment",
              Prepend(payment->value, card_member));
  std::string joined =
      Rebuild(top, [](const JsonMember&) { return false; }, "order", new_order);
  return first.empty() ? joined : Prepend(joined, first);
}

std::string MarkRedacted(std::string_view rest) {
  std::vector<JsonMember> top;
  if (!ScanObject(rest, &top)) {
    Result<nlohmann::json> parsed = ParseJsonExact(rest);
    if (!parsed.ok() || !parsed->is_object()) return std::string(rest);
    (*parsed)["redacted"] = true;
    return CanonicalJsonValue(*parsed);
  }
  for (const JsonMember& m : top) {
    if (m.key == "redacted") return std::string(rest);
  }
  return Prepend(rest, "\"redacted\":true");
}

}  // namespace cjd
