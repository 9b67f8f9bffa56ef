#include "hub/projection/purchase_history.h"

#include <cstdio>

#include "hub/projection/money.h"
#include "shared/event/civil_time.h"

namespace cjd::hub {
namespace {

// Money (1e-9 units) to cents, half away from zero.
int64_t Cents(Money m) {
  Int128 u = m.units();
  const Int128 unit = 10'000'000;
  const bool negative = u < 0;
  if (negative) u = -u;
  Int128 c = (u + unit / 2) / unit;
  return static_cast<int64_t>(negative ? -c : c);
}

}  // namespace

std::optional<int32_t> DayFromIsoDate(std::string_view date) {
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
  if (date.size() != 10 || date[4] != '-' || date[7] != '-' || !digits(0, 4, &y) ||
      !digits(5, 2, &m) || !digits(8, 2, &d) || m < 1 || m > 12 || d < 1 ||
      d > DaysInMonth(y, m)) {
    return std::nullopt;
  }
  return static_cast<int32_t>(DaysFromCivil(y, m, d));
}

std::string IsoDateFromDay(int32_t day) {
  const CivilDate c = CivilFromDays(day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(c.year), c.month,
                c.day);
  return buf;
}

Result<std::unique_ptr<PurchaseHistoryReader>> PurchaseHistoryReader::Open(
    const std::string& profiles_path) {
  sqlite::OpenOptions options;
  options.read_only = true;
  options.synchronous_full = false;
  auto db = sqlite::Database::Open(profiles_path, options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<PurchaseHistoryReader>(new PurchaseHistoryReader(std::move(*db)));
}

Result<std::optional<std::string>> PurchaseHistoryReader::MainCurrency() {
  auto s = statements_.Get(
      "SELECT currency FROM orders WHERE sale_lines > 0 GROUP BY currency "
      "ORDER BY count(*) DESC, currency LIMIT 1");
  if (!s.ok()) return s.status();
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  std::optional<std::string> out;
  if (*r) out = (*s)->ColumnText(0);
  (*s)->Reset();
  return out;
}

Status PurchaseHistoryReader::ForEachCustomer(
    const std::string& currency, std::optional<int32_t> before_day,
    const std::function<Status(int64_t, const std::vector<PurchaseDay>&)>& fn) {
  CJD_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  struct End {
    PurchaseHistoryReader* r;
    ~End() {
      r->statements_.ResetAll();
      (void)r->db_->Exec("COMMIT");
    }
  } end{this};
  auto s = statements_.Get(
      "SELECT profile_id, local_date, gross FROM orders "
      "WHERE profile_id IS NOT NULL AND currency = ?1 AND sale_lines > 0 AND local_date < ?2 "
      "ORDER BY profile_id, local_date");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, currency).Bind(2, before_day ? IsoDateFromDay(*before_day) : std::string("9999-99-99"));
  int64_t current = 0;
  std::vector<PurchaseDay> days;
  Money day_value;
  auto flush_day = [&] {
    if (!days.empty() && day_value.units() > 0) days.back().value_cents = Cents(day_value);
  };
  auto flush_customer = [&]() -> Status {
    flush_day();
    // A purchase day needs positive value: drop days whose orders came to nothing.
    std::erase_if(days, [](const PurchaseDay& d) { return d.value_cents <= 0; });
    if (current != 0 && !days.empty()) CJD_RETURN_IF_ERROR(fn(current, days));
    days.clear();
    return Status::Ok();
  };
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    const int64_t profile = (*s)->ColumnInt(0);
    const std::optional<int32_t> day = DayFromIsoDate((*s)->ColumnView(1));
    const std::optional<Money> gross = Money::Parse((*s)->ColumnText(2));
    if (!day || !gross) {
      return Status::Internal("orders: a row of profile " + std::to_string(profile) +
                              " has a malformed local_date or gross");
    }
    if (profile != current) {
      CJD_RETURN_IF_ERROR(flush_customer());
      current = profile;
    }
    if (days.empty() || days.back().day != *day) {
      flush_day();
      days.push_back({*day, 0});
      day_value = Money();
    }
    day_value += *gross;
  }
  return flush_customer();
}

Result<std::vector<int64_t>> PurchaseHistoryReader::NotLive(const std::vector<int64_t>& ids) {
  auto s = statements_.Get(
      "SELECT 1 FROM profiles WHERE profile_id = ?1 AND merged_into IS NULL");
  if (!s.ok()) return s.status();
  std::vector<int64_t> out;
  for (const int64_t id : ids) {
    (*s)->Bind(1, id);
    auto r = (*s)->Step();
    (*s)->Reset();
    if (!r.ok()) return r.status();
    if (!*r) out.push_back(id);
  }
  return out;
}

Result<int64_t> PurchaseHistoryReader::SaleOrders() {
  auto s = statements_.Get("SELECT count(*) FROM orders WHERE sale_lines > 0");
  if (!s.ok()) return s.status();
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  const int64_t n = *r ? (*s)->ColumnInt(0) : 0;
  (*s)->Reset();
  return n;
}

}  // namespace cjd::hub
