// A touch: what the journeys module keeps of one event of the log -- when, what, where, and the
// few fields funnels filter on -- without the person's identifiers (those stay sealed in the
// log). Extracted once per event (ExtractTouch) and kept in journeys.db and in memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shared/core/status.h"
#include "shared/event/event.h"

namespace cjd::hub::journeys {

// A touch as journeys.db stores it (text fields plain; the index interns them).
struct TouchRecord {
  int64_t rowid = 0;         // the event log's row id
  int64_t profile_id = 0;    // the live profile it belongs to; 0: none (anonymous)
  int64_t at_ms = 0;         // event time, UTC
  int32_t local_day = 0;     // days since 1970-01-01 of the event's local date (its own offset)
  EventType type = EventType::kPageView;
  bool order = false;        // carries an order with a sale line (quantity > 0, price > 0)
  int64_t revenue_cents = 0; // order: gross of its sale lines, in minor units (half-even)
  std::string currency;      // order only
  std::string channel;
  std::string store;
  std::string url;           // properties.url, cleaned (UrlPath): scheme, host, query dropped
  // Filterable attributes, each "key\x1fvalue": "name\x1f..." of a custom (track) event,
  // "sku\x1f..." and "category\x1f..." of every item
  // and of properties.sku/category, "properties.K\x1fV" for each top-level scalar property
  // (at most 16, values up to 256 bytes).
  std::vector<std::string> attrs;
};

// The touch of a canonical event. Every type becomes a touch (identify and consent too: they
// are activity, and "first seen"); the caller sets rowid and profile_id.
TouchRecord ExtractTouch(const Event& e);

// The same touch read from a canonical event's top-level members (shared/event/json_scan.h),
// without parsing the event, for the events whose touch holds only time, type, channel and
// store: no order, properties or name (an impression, a loyalty scan, an identify, ...).
// nullopt for any other event, and for anything unusual in the members it reads (an escape, a
// duplicate, a value out of range, a member it does not know): the caller then parses the
// event (EventFromCanonical) and calls ExtractTouch. The members a touch does not keep
// (customer, consent, offer_ids, event_id) are not checked: journeys reads only events the
// projection parsed and accepted (those with a profile).
std::optional<TouchRecord> SimpleTouch(std::string_view canonical);

// Days since 1970-01-01 of "YYYY-MM-DD..." (the first 10 characters); kInvalid when not a date.
Result<int32_t> DayNumber(std::string_view date);
// "YYYY-MM-DD" of a day number.
std::string DayText(int32_t day);

// The month (year * 12 + month - 1) and the Monday-based week (weeks since 1969-12-29) of a day
// number; the label of each ("2010-12"; the week's Monday, "2010-12-06").
int32_t MonthNumber(int32_t day);
int32_t WeekNumber(int32_t day);
std::string MonthText(int32_t month);
std::string WeekText(int32_t week);

// The month or week of a day number, computed once per distinct day (a scan meets few days and
// many touches), and the period's label.
class PeriodOfDay {
 public:
  explicit PeriodOfDay(bool weeks) : weeks_(weeks) {}
  int32_t operator()(int32_t day);
  std::string Text(int32_t period) const { return weeks_ ? WeekText(period) : MonthText(period); }

 private:
  bool weeks_;
  std::unordered_map<int32_t, int32_t> cache_;
};

// The URL clean-up of paths and filters: the scheme and host dropped, the query and fragment
// dropped, a trailing slash dropped (except the root), so "https://shop.example/p/1/?utm=x"
// and "/p/1" are one page.
std::string UrlPath(std::string_view url);

// The clean-up of URLs in path labels: UrlPath, then every segment that is an id (all digits,
// or 16+ characters with a digit) becomes ":id" ("/p/123/reviews" -> "/p/:id/reviews").
std::string PathLabelUrl(std::string_view path);

// The separator of an attribute's key and value (a byte no valid JSON key or value text holds
// unescaped).
inline constexpr char kAttrSep = '\x1f';

}  // namespace cjd::hub::journeys
