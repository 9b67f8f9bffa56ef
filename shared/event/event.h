// Event schema v1: the unit that flows from the POS through the agent's outbox to the hub.
//
// Contract (keep stable; extend only by adding optional fields or new types):
//   type         "transaction" | "loyalty_scan" (more types are added in EventType below)
//   event_id     optional, 1..128 chars of [A-Za-z0-9._:-]; generated (UUIDv7) when absent.
//                The same id is never stored twice.
//   occurred_at  RFC 3339 with an offset ("2026-11-23T14:12:36.120+01:00" or "...Z")
//   store_id     1..64 chars
//   customer     object with any of loyalty_id, email, phone, customer_id; required with a
//                loyalty_id for loyalty_scan; optional for a transaction (anonymous sale)
//   order        required for a transaction:
//                  order_id, currency (ISO 4217), items (1..1000):
//                    sku, quantity (non-zero integer; negative = returned item),
//                    unit_price (>= 0, decimal string or JSON number, exact),
//                    optional category, description, offer_id
//                  optional payment {method, card_fingerprint}, optional offer_id
//   channel      optional, default "store"
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

enum class EventType : uint8_t {
  kTransaction = 1,
  kLoyaltyScan = 2,
};

// How the outbox treats an event when its byte budget is full: business events are refused
// (507 to the POS), telemetry drops oldest. Every v1 type is business.
enum class EventClass : uint8_t { kBusiness, kTelemetry };

std::string_view EventTypeName(EventType t);
std::optional<EventType> EventTypeFromName(std::string_view name);
EventClass ClassOf(EventType t);

struct Customer {
  std::string loyalty_id;
  std::string email;
  std::string phone;
  std::string customer_id;
  bool empty() const {
    return loyalty_id.empty() && email.empty() && phone.empty() && customer_id.empty();
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
  std::optional<Customer> customer;
  std::optional<Order> order;    // present iff type == kTransaction
};

// Validates one event object (from ParseJsonExact). On failure the Status is kInvalid with
// `field` naming the first bad field relative to the event ("order.items[2].unit_price").
Result<Event> ValidateEvent(const nlohmann::json& j);

// Validates a request body: one event object or a non-empty array of them (at most
// `max_events`). Field paths of array elements are prefixed with their index ("[3].store_id").
Result<std::vector<Event>> ValidateEventBody(const nlohmann::json& j, size_t max_events = 10000);

// The canonical JSON of an event as stored and sent: money as decimal strings, fields in a fixed
// order, no whitespace. EventFromCanonical(ToCanonicalJson(e)) == e.
std::string ToCanonicalJson(const Event& e);
Result<Event> EventFromCanonical(std::string_view json_text);

// RFC 3339 date-time with a mandatory offset -> UTC milliseconds. Fractional seconds of any
// length are accepted (truncated to milliseconds).
Result<int64_t> ParseRfc3339(std::string_view text);
// UTC milliseconds -> "2026-11-23T14:12:36.120Z".
std::string FormatRfc3339(int64_t utc_ms);

// ISO 4217: true for active currency codes; `minor_units` gets the number of decimals (2 for EUR,
// 0 for JPY, 3 for KWD).
bool IsCurrencyCode(std::string_view code, int* minor_units = nullptr);

// The shape checks event v1 applies to customer.email (one '@' with text on both sides, no
// spaces) and customer.phone (digits and + - ( ) . spaces, 5 to 20 digits). Shared with importers
// so a row that passes them also passes the hub's validation.
bool IsValidEmail(std::string_view s);
bool IsValidPhone(std::string_view s);

// A new time-ordered unique id (UUIDv7 text, 36 chars), from libsodium's random generator.
std::string NewEventId(int64_t now_ms);

}  // namespace cjd
