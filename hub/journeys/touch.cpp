#include "hub/journeys/touch.h"

#include <nlohmann/json.hpp>

#include "shared/event/json_scan.h"

namespace cjd::hub::journeys {
namespace {

constexpr size_t kMaxProps = 16;
constexpr size_t kMaxValue = 256;

// Days from civil (Howard Hinnant's algorithm).
int32_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

void AddAttr(TouchRecord& t, std::string_view key, std::string_view value) {
  if (value.empty() || value.size() > kMaxValue || value.find(kAttrSep) != std::string_view::npos) {
    return;
  }
  std::string a;
  a.reserve(key.size() + 1 + value.size());
  a.append(key).push_back(kAttrSep);
  a.append(value);
  for (const std::string& have : t.attrs) {
    if (have == a) return;
  }
  t.attrs.push_back(std::move(a));
}

// A plain string member of 1..max_bytes printable ASCII characters (no escape): such a string
// is valid JSON and passes ReadString's checks. Anything else is left to the full parser.
bool ShortPlainString(std::string_view value, size_t max_bytes, std::string_view* out) {
  if (!PlainString(value, out) || out->empty() || out->size() > max_bytes) return false;
  for (const char c : *out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) return false;
  }
  return true;
}

std::string ScalarText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  return {};
}

}  // namespace

Result<int32_t> DayNumber(std::string_view date) {
  auto digits = [&](size_t at, size_t n, int* out) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (i >= date.size() || date[i] < '0' || date[i] > '9') return false;
      v = v * 10 + (date[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (date.size() < 10 || date[4] != '-' || date[7] != '-' || !digits(0, 4, &y) ||
      !digits(5, 2, &m) || !digits(8, 2, &d) || m < 1 || m > 12 || d < 1 || d > 31) {
    return Status::Invalid("not a date (YYYY-MM-DD): " + std::string(date.substr(0, 32)));
  }
  const int32_t n = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  // 2021-02-30 and the like: the day must come back as written.
  if (DayText(n) != date.substr(0, 10)) {
    return Status::Invalid("no such day: " + std::string(date.substr(0, 10)));
  }
  return n;
}

std::string DayText(int32_t z) {
  z += 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int y = static_cast<int>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y % 10000, static_cast<int>(m % 100),
                static_cast<int>(d % 100));
  return buf;
}

int32_t MonthNumber(int32_t day) {
  const std::string d = DayText(day);
  return std::stoi(d.substr(0, 4)) * 12 + std::stoi(d.substr(5, 2)) - 1;
}

int32_t WeekNumber(int32_t day) {
  const int32_t shifted = day + 3;  // day 0, 1970-01-01, is a Thursday
  return shifted >= 0 ? shifted / 7 : -((-shifted + 6) / 7);
}

std::string MonthText(int32_t month) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", month / 12, month % 12 + 1);
  return buf;
}

std::string WeekText(int32_t week) { return DayText(week * 7 - 3); }

int32_t PeriodOfDay::operator()(int32_t day) {
  auto it = cache_.find(day);
  if (it != cache_.end()) return it->second;
  const int32_t p = weeks_ ? WeekNumber(day) : MonthNumber(day);
  cache_.emplace(day, p);
  return p;
}

std::string UrlPath(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos && scheme < 16) {
    url.remove_prefix(scheme + 3);
    const size_t slash = url.find('/');
    url = slash == std::string_view::npos ? std::string_view("/") : url.substr(slash);
  }
  const size_t cut = url.find_first_of("?#");
  if (cut != std::string_view::npos) url = url.substr(0, cut);
  while (url.size() > 1 && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

TouchRecord ExtractTouch(const Event& e) {
  TouchRecord t;
  t.at_ms = e.occurred_at_ms;
  auto day = DayNumber(e.occurred_at);
  t.local_day = day.ok() ? *day : static_cast<int32_t>(e.occurred_at_ms / 86'400'000);
  t.type = e.type;
  t.channel = e.channel;
  t.store = e.store_id;
  if (e.type == EventType::kTrack) AddAttr(t, "name", e.name);
  if (e.order) {
    t.currency = e.order->currency;
    DecimalSum gross(6);
    bool sale = false;
    for (const Item& item : e.order->items) {
      if (item.quantity > 0 && !item.unit_price.is_zero()) {
        sale = true;
        (void)gross.AddProduct(item.quantity, item.unit_price);
      }
      AddAttr(t, "sku", item.sku);
      AddAttr(t, "category", item.category);
    }
    t.order = sale;
    // Cents, half to even, from the exact sum at scale 6.
    const Int128 m = gross.mantissa();
    Int128 q = m / 10'000;
    const Int128 r = m % 10'000;
    if (r > 5'000 || (r == 5'000 && q % 2 != 0)) ++q;
    t.revenue_cents = static_cast<int64_t>(q);
  }
  if (!e.properties.empty()) {
    auto props = nlohmann::json::parse(e.properties, nullptr, false);
    if (props.is_object()) {
      size_t n = 0;
      for (auto it = props.begin(); it != props.end(); ++it) {
        const std::string value = ScalarText(it.value());
        if (it.key() == "url" && it.value().is_string()) t.url = UrlPath(value);
        if (it.key() == "sku" || it.key() == "category") AddAttr(t, it.key(), value);
        if (!value.empty() && n < kMaxProps && it.key().find(kAttrSep) == std::string::npos) {
          AddAttr(t, "properties." + it.key(), value);
          ++n;
        }
      }
    }
  }
  return t;
}

std::optional<TouchRecord> SimpleTouch(std::string_view canonical) {
  thread_local std::vector<JsonMember> members;
  if (!ScanObject(canonical, &members)) return std::nullopt;
  std::string_view type_name, occurred_at, occurred_ms_text, store, channel;
  bool has_type = false, has_at = false, has_ms = false, has_store = false, has_channel = false;
  bool has_redacted = false, has_schema = false, has_id = false, has_customer = false;
  bool has_consent = false, has_offers = false;
  auto once = [](bool* seen) {
    if (*seen) return false;  // a duplicate: the full parser decides
    *seen = true;
    return true;
  };
  for (const JsonMember& m : members) {
    bool ok = false;
    if (m.key == "occurred_at_ms") {
      ok = once(&has_ms);
      occurred_ms_text = m.value;
    } else if (m.key == "type") ok = once(&has_type) && ShortPlainString(m.value, 64, &type_name);
    else if (m.key == "occurred_at") ok = once(&has_at) && ShortPlainString(m.value, 64, &occurred_at);
    else if (m.key == "store_id") ok = once(&has_store) && ShortPlainString(m.value, 64, &store);
    else if (m.key == "channel") ok = once(&has_channel) && ShortPlainString(m.value, 32, &channel);
    else if (m.key == "redacted") ok = once(&has_redacted) && m.value == "true";
    else if (m.key == "schema") ok = once(&has_schema) && m.value == "1";
    else if (m.key == "event_id") ok = once(&has_id);
    else if (m.key == "customer") ok = once(&has_customer);
    else if (m.key == "consent") ok = once(&has_consent);
    else if (m.key == "offer_ids") ok = once(&has_offers);
    // order, properties, name, attributes, or anything else: the full parse.
    if (!ok) return std::nullopt;
  }
  if (!has_type || !has_at || (has_redacted && has_customer)) return std::nullopt;
  const std::optional<EventType> type = EventTypeFromName(type_name);
  if (!type || HasOrder(*type) || *type == EventType::kTrack) return std::nullopt;
  const bool pos_type = *type == EventType::kTransaction || *type == EventType::kLoyaltyScan ||
                        *type == EventType::kOfferImpression;
  if (pos_type && !has_store) return std::nullopt;
  Result<int64_t> ms = ParseRfc3339(occurred_at);
  if (!ms.ok()) return std::nullopt;
  if (has_ms) {  // the stored time must agree (EventFromCanonical): plain decimal digits only
    std::string_view d = occurred_ms_text;
    const bool negative = !d.empty() && d.front() == '-';
    if (negative) d.remove_prefix(1);
    if (d.empty() || d.size() > 18 || (d.size() > 1 && d.front() == '0')) return std::nullopt;
    int64_t v = 0;
    for (const char c : d) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    if ((negative ? -v : v) != *ms) return std::nullopt;
  }
  TouchRecord t;
  t.at_ms = *ms;
  auto day = DayNumber(occurred_at);
  t.local_day = day.ok() ? *day : static_cast<int32_t>(*ms / 86'400'000);
  t.type = *type;
  t.channel = has_channel ? std::string(channel) : std::string(DefaultChannel(*type));
  t.store = std::string(store);
  return t;
}

}  // namespace cjd::hub::journeys
