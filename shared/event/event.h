// Event schema v1: the unit that flows from the POS through the agent's outbox to the hub.
//
// Contract (keep stable; extend only by adding optional fields or new types):
//   type         one of EventType below: from the POS "transaction" | "loyalty_scan" |
//                "consent_update" | "offer_impression"; from the
//                hub's collect API also "identify", "page_view", "product_view",
//                "add_to_cart", "remove_from_cart", "checkout_started", "order_completed",
//                "email_opened", "email_clicked", "support_contact", "track" (a custom event named
//                by `name`, e.g. a Segment track call). Each entry point names the
//                types it takes (kPosEventTypes at the agent, kCollectEventTypes at the hub).
//   event_id     optional, 1..128 chars of [A-Za-z0-9._:-]; generated (UUIDv7) when absent.
//                The same id is never stored twice.
//   occurred_at  RFC 3339 with an offset ("2026-11-23T14:12:36.120+01:00" or "...Z")
//   store_id     1..64 chars; required for transaction and loyalty_scan, optional otherwise
//   customer     object with any of loyalty_id, email, phone, customer_id, anonymous_id;
//                required with a loyalty_id for loyalty_scan; required for identify; optional
//                otherwise (an anonymous sale or visit)
//   order        required for transaction and order_completed (and only allowed there):
//                  order_id, currency (ISO 4217), items (1..1000):
//                    sku, quantity (non-zero integer; negative = returned item),
//                    unit_price (>= 0, decimal string or JSON number, exact),
//                    optional category, description, offer_id
//                  optional payment {method, card_fingerprint}, optional offer_id
//   channel      optional, 1..32 chars; default "store" for transaction and loyalty_scan,
//                "email" for email_opened/email_clicked, "support" for support_contact, "web"
//                for the other collect types
//   properties   optional object: free-form context (url, sku, campaign, ...), at most 64 KiB as
//                JSON, nesting depth 8; numbers are kept as written
//   attributes   identify only, optional object: profile attributes to set. Keys 1..64 of
//                [a-z0-9_]; values string (<= 1024 chars), number, true/false, or null (unset);
//                at most 200 keys
//   consent      consent_update only, required: {"marketing": true|false}
//   offer_ids    offer_impression only, required: 1..50 offer ids (1..64 of [A-Za-z0-9._:-]),
//                best first, as shown; the customer (loyalty_id) is optional (an unknown
//                customer sees the store's general offers)
//   name         track only, required: the custom event's name, 1..128 characters, no control
//                characters ("Newsletter Signed Up")
//   schema       optional, must be 1
// Unknown fields are rejected (a misspelt optional field must not vanish silently).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/core/status.h"
#include "shared/event/decimal.h"

namespace cjd {

// The numeric values are stored and sent: never renumber.
enum class EventType : uint8_t {
  kTransaction = 1,
  kLoyaltyScan = 2,
  kIdentify = 3,
  kPageView = 4,
  kProductView = 5,
  kAddToCart = 6,
  kRemoveFromCart = 7,
  kCheckoutStarted = 8,
  kOrderCompleted = 9,
  kEmailOpened = 10,
  kEmailClicked = 11,
  kSupportContact = 12,
  kConsentUpdate = 13,    // a customer's marketing consent, from any source
  kOfferImpression = 14,  // offers shown to a customer (a kiosk agent records them)
  kTrack = 15,            // a custom event with its own name (Segment's track calls)
};
inline constexpr EventType kAllEventTypeList[] = {
    EventType::kTransaction,    EventType::kLoyaltyScan,     EventType::kIdentify,
    EventType::kPageView,       EventType::kProductView,     EventType::kAddToCart,
    EventType::kRemoveFromCart, EventType::kCheckoutStarted, EventType::kOrderCompleted,
    EventType::kEmailOpened,    EventType::kEmailClicked,    EventType::kSupportContact,
    EventType::kConsentUpdate,  EventType::kOfferImpression, EventType::kTrack};

// A set of event types (bit i = EventType value i).
using EventTypeSet = uint32_t;
constexpr EventTypeSet TypeBit(EventType t) { return EventTypeSet{1} << static_cast<int>(t); }
inline constexpr EventTypeSet kAllEventTypes = [] {
  EventTypeSet s = 0;
  for (EventType t : kAllEventTypeList) s |= TypeBit(t);
  return s;
}();
// What a POS terminal or kiosk sends to its agent.
inline constexpr EventTypeSet kPosEventTypes =
    TypeBit(EventType::kTransaction) | TypeBit(EventType::kLoyaltyScan) |
    TypeBit(EventType::kConsentUpdate) | TypeBit(EventType::kOfferImpression);
// What the hub's POST /v1/collect takes: every type (a store system may post a sale directly).
inline constexpr EventTypeSet kCollectEventTypes = kAllEventTypes;

// True for the types that carry an order (transaction, order_completed).
constexpr bool HasOrder(EventType t) {
  return t == EventType::kTransaction || t == EventType::kOrderCompleted;
}

// How the outbox treats an event when its byte budget is full: business events are refused
// (507 to the POS); telemetry (offer_impression) is refused first, counted, before the budget or
// the disk is full (agent/outbox/outbox_writer.h).
enum class EventClass : uint8_t { kBusiness, kTelemetry };

std::string_view EventTypeName(EventType t);
std::optional<EventType> EventTypeFromName(std::string_view name);
EventClass ClassOf(EventType t);
// The channel of an event of type `t` that names none ("store", "email", "support" or "web").
const char* DefaultChannel(EventType t);

struct Customer {
  std::string loyalty_id;
  std::string email;
  std::string phone;
  std::string customer_id;
  std::string anonymous_id;   // a browser cookie or app install id
  bool empty() const {
    return loyalty_id.empty() && email.empty() && phone.empty() && customer_id.empty() &&
           anonymous_id.empty();
  }
};

struct Item {
  std::string sku;
  int64_t quantity = 0;
  Decimal unit_price;
  std::string category;
  std::string description;
  std::string offer_id;
};

struct Payment {
  std::string method;
  std::string card_fingerprint;
};

struct Order {
  std::string order_id;
  std::string currency;
  std::vector<Item> items;
  std::optional<Payment> payment;
  std::string offer_id;
};

struct Event {
  EventType type = EventType::kTransaction;
  std::string event_id;          // empty until assigned
  std::string occurred_at;       // the RFC 3339 text as given
  int64_t occurred_at_ms = 0;    // the same instant, UTC milliseconds
  std::string store_id;
  std::string channel = "store";
  std::string name;              // track only: the custom event's name
  std::optional<Customer> customer;
  std::optional<Order> order;    // present iff HasOrder(type)
  std::string properties;        // canonical JSON object text, empty when absent
  std::string attributes;        // identify only: canonical JSON object text, empty when absent
  std::optional<bool> marketing_consent;  // consent_update only
  std::vector<std::string> offer_ids;     // offer_impression only
  bool redacted = false;  // stored body redacted by an erasure (RedactedEventJson): no customer
};

// Validates one event object (from ParseJsonExact). On failure the Status is kInvalid with
// `field` naming the first bad field relative to the event ("order.items[2].unit_price").
// `allowed` names the types this entry point takes; another type is a 400 on "type".
Result<Event> ValidateEvent(const nlohmann::json& j, EventTypeSet allowed = kAllEventTypes);

// Validates a request body: one event object or a non-empty array of them (at most
// `max_events`). Field paths of array elements are prefixed with their index ("[3].store_id").
Result<std::vector<Event>> ValidateEventBody(const nlohmann::json& j, size_t max_events = 10000,
                                             EventTypeSet allowed = kAllEventTypes);

// The canonical JSON of an event as stored and sent: money as decimal strings, fields in a fixed
// order, no whitespace. EventFromCanonical(ToCanonicalJson(e)) == e.
std::string ToCanonicalJson(const Event& e);
Result<Event> EventFromCanonical(std::string_view json_text);

// Erasure (issue 11): the canonical event `json_text` without the person -- its `customer`
// object, an identify's `attributes` and an order's `payment.card_fingerprint` removed, and
// `"redacted":true` added. EventFromCanonical reads such a body as an anonymous event (an
// identify, consent update or loyalty scan then carries nobody); every other field stays, so
// store totals and order values are unchanged. Text that is not a JSON object, or is redacted
// already, comes back as it was.
std::string RedactedEventJson(std::string_view json_text);

// Sealing at rest (issue 11): the canonical event `json_text` split into the part without the
// person (the fields RedactedEventJson removes, but not marked redacted; every other member kept
// as written) and the person's part, `{"attributes":..,"card_fingerprint":"..","customer":{..}}`
// with only the fields it had; empty when it had none (or `json_text` is not an unredacted JSON
// object: kept whole in `rest`). Members are moved as text (shared/event/json_scan.h): the cost
// does not grow with the order's size.
struct PersonalSplit {
  std::string rest;
  std::string personal;
};
PersonalSplit SplitPersonal(std::string_view json_text);
// The event again from the two parts: the same members as the original (customer and attributes
// first, the card first in its payment), so the same event to any JSON reader. kInvalid when
// either part is not a JSON object.
Result<std::string> JoinPersonal(std::string_view rest, std::string_view personal);
// `rest` of SplitPersonal marked as redacted, as RedactedEventJson would have written it.
std::string MarkRedacted(std::string_view rest);

// Canonical JSON text of any value from ParseJsonExact: object keys sorted, no whitespace,
// numbers as written (raw numbers keep their text).
std::string CanonicalJsonValue(const nlohmann::json& j);

// RFC 3339 date-time with a mandatory offset -> UTC milliseconds. Fractional seconds of any
// length are accepted (truncated to milliseconds).
Result<int64_t> ParseRfc3339(std::string_view text);
// UTC milliseconds -> "2026-11-23T14:12:36.120Z".
std::string FormatRfc3339(int64_t utc_ms);

// ISO 4217: true for active currency codes; `minor_units` gets the number of decimals (2 for EUR,
// 0 for JPY, 3 for KWD).
bool IsCurrencyCode(std::string_view code, int* minor_units = nullptr);

// The shape checks event v1 applies to customer.email (one '@' with text on both sides, no
// inner spaces; surrounding spaces are tolerated) and customer.phone (digits and + - ( ) . spaces, 5 to 20 digits). Shared with importers
// so a row that passes them also passes the hub's validation.
bool IsValidEmail(std::string_view s);
bool IsValidPhone(std::string_view s);

// A new time-ordered unique id (UUIDv7 text, 36 chars), from libsodium's random generator.
std::string NewEventId(int64_t now_ms);

}  // namespace cjd
