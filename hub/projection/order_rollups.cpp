// The rollups of the projection's orders (order_rollups.h): kept by the projector, read by the
// metrics.
#include "hub/projection/order_rollups.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>

namespace cjd::hub {
namespace {

constexpr int64_t kFirst = 1, kLater = 2, kLater2 = 3, kMonthFirst = 4;

int64_t Scope(const std::string& store, const std::string& channel) {
  return (store.empty() ? 0 : 1) | (channel.empty() ? 0 : 2);
}

// The index order of the top customers: the amount in hundredths of a unit, rounded down
// (clamped to 64 bits); ties in it are ordered exactly by the reader.
int64_t RankKey(Money m) {
  constexpr Int128 kPerHundredth = 10'000'000;  // Money has 9 decimals
  const Int128 r = m.units() / kPerHundredth;
  if (r > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (r < 0) return 0;
  return static_cast<int64_t>(r);
}

// Digest fields: integers as zigzag varints, texts as a varint length and the bytes.
void PutInt(std::string* out, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    out->push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out->push_back(static_cast<char>(u));
}
void PutText(std::string* out, std::string_view s) {
  PutInt(out, static_cast<int64_t>(s.size()));
  out->append(s);
}

// The digest: what was counted of one profile's orders (see rollup_digest).
std::string Encode(const std::vector<OrderFacts>& rows) {
  std::string out;
  for (const OrderFacts& r : rows) {
    PutText(&out, r.currency);
    PutText(&out, r.store);
    PutText(&out, r.channel);
    PutInt(&out, r.day);
    PutInt(&out, r.sale_lines);
    PutInt(&out, r.return_lines);
    PutText(&out, r.gross.ToExact());
    PutText(&out, r.returns.ToExact());
  }
  return out;
}

Result<std::vector<OrderFacts>> Decode(std::string_view in) {
  std::vector<OrderFacts> rows;
  size_t pos = 0;
  bool bad = false;
  auto get_int = [&]() -> int64_t {
    uint64_t u = 0;
    for (int shift = 0;; shift += 7) {
      if (pos >= in.size() || shift > 63) {
        bad = true;
        return 0;
      }
      const auto byte = static_cast<unsigned char>(in[pos++]);
      u |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  };
  auto get_text = [&]() -> std::string {
    const int64_t n = get_int();
    if (bad || n < 0 || static_cast<size_t>(n) > in.size() - pos) {
      bad = true;
      return {};
    }
    std::string s(in.substr(pos, static_cast<size_t>(n)));
    pos += static_cast<size_t>(n);
    return s;
  };
  while (pos < in.size() && !bad) {
    OrderFacts r;
    r.currency = get_text();
    r.store = get_text();
    r.channel = get_text();
    r.day = get_int();
    r.sale_lines = get_int();
    r.return_lines = get_int();
    std::optional<Money> gross = Money::Parse(get_text());
    std::optional<Money> returns = Money::Parse(get_text());
    if (bad || !gross || !returns) return Status::Internal("rollup_digest: malformed row");
    r.gross = *gross;
    r.returns = *returns;
    rows.push_back(std::move(r));
  }
  if (bad) return Status::Internal("rollup_digest: malformed row");
  return rows;
}

Money ParseOrZero(std::string_view s) { return Money::Parse(s).value_or(Money()); }

// What the rollups read of an order row: these columns, in this order.
#define CJD_ORDER_FACTS_COLUMNS \
  "currency, local_date, store_id, channel, sale_lines, return_lines, gross, returns"
OrderFacts ReadOrderFacts(const sqlite::Statement& s) {
  OrderFacts o;
  o.currency = s.ColumnText(0);
  o.day = RollupDay(s.ColumnView(1));
  o.store = s.ColumnText(2);
  o.channel = s.ColumnText(3);
  o.sale_lines = s.ColumnInt(4);
  o.return_lines = s.ColumnInt(5);
  o.gross = ParseOrZero(s.ColumnView(6));
  o.returns = ParseOrZero(s.ColumnView(7));
  return o;
}

}  // namespace

int64_t RollupDay(std::string_view d) {
  auto digits = [&](size_t from, size_t n) -> int64_t {
    int64_t v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (i >= d.size() || d[i] < '0' || d[i] > '9') return -1;
      v = v * 10 + (d[i] - '0');
    }
    return v;
  };
  if (d.size() == 10 && d[4] == '-' && d[7] == '-') {
    const int64_t y = digits(0, 4), m = digits(5, 2), day = digits(8, 2);
    if (y < 0 || m < 0 || day < 0) return 0;
    return y * 10000 + m * 100 + day;
  }
  if (d.size() == 7 && d[4] == '-') {
    const int64_t y = digits(0, 4), m = digits(5, 2);
    if (y < 0 || m < 0) return 0;
    return y * 10000 + m * 100;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The writer

struct OrderRollupWriter::Statements {
  sqlite::Statement get_day, put_day, delete_day;
  sqlite::Statement put_point, delete_point;
  sqlite::Statement put_top, delete_top;
  sqlite::Statement get_digest, put_digest, delete_digest;
  sqlite::Statement profile_orders;
};

Result<std::unique_ptr<OrderRollupWriter>> OrderRollupWriter::Open(sqlite::Database& db) {
  std::unique_ptr<OrderRollupWriter> w(new OrderRollupWriter(db));
  CJD_RETURN_IF_ERROR(w->Prepare());
  return w;
}

Status OrderRollupWriter::Prepare() {
  st_ = std::make_shared<Statements>();
  auto prep = [&](sqlite::Statement* s, const char* sql) -> Status {
    auto p = db_.Prepare(sql);
    if (!p.ok()) return p.status();
    *s = std::move(*p);
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(prep(&st_->get_day,
      "SELECT rows, sale_orders, credit_notes, gross, returns, cust_rows, cust_orders, "
      "cust_gross, cust_returns FROM rollup_orders "
      "WHERE currency = ?1 AND day = ?2 AND store_id = ?3 AND channel = ?4"));
  CJD_RETURN_IF_ERROR(prep(&st_->put_day,
      "INSERT OR REPLACE INTO rollup_orders (currency, day, store_id, channel, rows, sale_orders, "
      "credit_notes, gross, returns, cust_rows, cust_orders, cust_gross, cust_returns) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"));
  CJD_RETURN_IF_ERROR(prep(&st_->delete_day,
      "DELETE FROM rollup_orders WHERE currency = ?1 AND day = ?2 AND store_id = ?3 "
      "AND channel = ?4"));
  CJD_RETURN_IF_ERROR(prep(&st_->put_point,
      "INSERT INTO rollup_customers (currency, scope, store_id, channel, kind, day, prev, prev2, "
      "n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO UPDATE SET n = n + "
      "excluded.n RETURNING n"));
  CJD_RETURN_IF_ERROR(prep(&st_->delete_point,
      "DELETE FROM rollup_customers WHERE currency = ?1 AND scope = ?2 AND store_id = ?3 "
      "AND channel = ?4 AND kind = ?5 AND day = ?6 AND prev = ?7 AND prev2 = ?8"));
  CJD_RETURN_IF_ERROR(prep(&st_->put_top,
      "INSERT OR REPLACE INTO rollup_top (currency, scope, channel, profile_id, orders, gross, "
      "returns, rank_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  CJD_RETURN_IF_ERROR(prep(&st_->delete_top,
      "DELETE FROM rollup_top WHERE currency = ?1 AND scope = ?2 AND channel = ?3 "
      "AND profile_id = ?4"));
  CJD_RETURN_IF_ERROR(prep(&st_->get_digest,
      "SELECT data FROM rollup_digest WHERE profile_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->put_digest,
      "INSERT OR REPLACE INTO rollup_digest (profile_id, data) VALUES (?1, ?2)"));
  CJD_RETURN_IF_ERROR(prep(&st_->delete_digest,
      "DELETE FROM rollup_digest WHERE profile_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->profile_orders,
      "SELECT " CJD_ORDER_FACTS_COLUMNS " FROM orders WHERE profile_id = ?1"));
  return Status::Ok();
}

void OrderRollupWriter::OrderChanged(const OrderFacts* before, const OrderFacts& after) {
  auto add = [&](const OrderFacts& o, int sign) {
    DayFigures& d = days_[DayKey{o.currency, o.day, o.store, o.channel}];
    d.rows += sign;
    if (o.sale_lines > 0) d.sale_orders += sign;
    if (o.sale_lines == 0 && o.return_lines > 0) d.credit_notes += sign;
    if (sign > 0) {
      d.gross += o.gross;
      d.returns += o.returns;
    } else {
      d.gross = d.gross - o.gross;
      d.returns = d.returns - o.returns;
    }
  };
  if (before != nullptr) add(*before, -1);
  add(after, +1);
}

void OrderRollupWriter::Count(int64_t profile_id, const std::vector<OrderFacts>& rows, int sign,
                              std::map<TopKey, TopFigures>* top) {
  // The customer part of each day.
  for (const OrderFacts& o : rows) {
    DayFigures& d = days_[DayKey{o.currency, o.day, o.store, o.channel}];
    d.cust_rows += sign;
    if (o.sale_lines > 0) d.cust_orders += sign;
    if (sign > 0) {
      d.cust_gross += o.gross;
      d.cust_returns += o.returns;
    } else {
      d.cust_gross = d.cust_gross - o.gross;
      d.cust_returns = d.cust_returns - o.returns;
    }
  }
  // Each scope's sequences of sale orders, and the all-time figures for the top customers.
  std::map<TopKey, std::vector<int64_t>> sales;
  std::map<TopKey, TopFigures> figures;
  for (const OrderFacts& o : rows) {
    for (int64_t scope = 0; scope < 4; ++scope) {
      TopKey key{o.currency, scope, (scope & 1) ? o.store : std::string(),
                 (scope & 2) ? o.channel : std::string()};
      if (scope == 0 || scope == 2) {  // the top customers keep no store scope (see the reader)
        TopFigures& f = figures[key];
        f.gross += o.gross;
        f.returns += o.returns;
        if (o.sale_lines > 0) ++f.orders;
      }
      if (o.sale_lines > 0) sales[key].push_back(o.day);
    }
  }
  for (auto& [key, days] : sales) {
    std::sort(days.begin(), days.end());
    // Read through a reference: clang 14, which builds the fuzzers, refuses a lambda capturing
    // structured bindings.
    const TopKey& k = key;
    auto point = [&](int64_t kind, int64_t day, int64_t prev, int64_t prev2) {
      points_[PointKey{std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), kind, day,
                       prev, prev2}] += sign;
    };
    for (size_t i = 0; i < days.size(); ++i) {
      if (i == 0) {
        point(kFirst, days[i], 0, 0);
      } else {
        point(kLater, days[i], days[i - 1], 0);
        point(kLater2, days[i], i >= 2 ? days[i - 2] : 0, 0);
      }
      if (i == 0 || days[i - 1] / 100 != days[i] / 100) point(kMonthFirst, days[i] / 100, 0, 0);
    }
  }
  if (top != nullptr) {
    for (auto& [key, f] : figures) {
      if (f.orders > 0) (*top)[key] = f;
    }
  } else {
    auto& entry = top_[profile_id];
    for (auto& [key, f] : figures) {
      if (f.orders > 0) entry.first.push_back(key);
    }
  }
}

Status OrderRollupWriter::Refresh(const std::set<int64_t>& profiles) {
  for (int64_t pid : profiles) {
    if (pid <= 0) continue;
    std::vector<OrderFacts> old_rows;
    std::string old_digest;
    st_->get_digest.Bind(1, pid);
    auto r = st_->get_digest.Step();
    if (!r.ok()) {
      st_->get_digest.Reset();
      return r.status();
    }
    if (*r) {
      old_digest.assign(st_->get_digest.ColumnView(0));
      auto decoded = Decode(old_digest);
      st_->get_digest.Reset();
      if (!decoded.ok()) return decoded.status();
      old_rows = std::move(*decoded);
    } else {
      st_->get_digest.Reset();
    }
    std::vector<OrderFacts> rows;
    st_->profile_orders.Bind(1, pid);
    while (true) {
      auto row = st_->profile_orders.Step();
      if (!row.ok()) {
        st_->profile_orders.Reset();
        return row.status();
      }
      if (!*row) break;
      rows.push_back(ReadOrderFacts(st_->profile_orders));
    }
    st_->profile_orders.Reset();
    // The rows in a stable order, so an unchanged profile encodes the same.
    std::sort(rows.begin(), rows.end(), [](const OrderFacts& a, const OrderFacts& b) {
      return std::tie(a.currency, a.day, a.store, a.channel, a.sale_lines, a.return_lines,
                      a.gross, a.returns) < std::tie(b.currency, b.day, b.store, b.channel,
                                                     b.sale_lines, b.return_lines, b.gross,
                                                     b.returns);
    });
    const std::string digest = Encode(rows);
    if (digest == old_digest) continue;  // nothing this profile counts changed
    Count(pid, old_rows, -1, nullptr);
    auto& entry = top_[pid];
    entry.second.clear();
    Count(pid, rows, +1, &entry.second);
    if (rows.empty()) {
      st_->delete_digest.Bind(1, pid);
      CJD_RETURN_IF_ERROR(st_->delete_digest.Run());
    } else {
      st_->put_digest.Bind(1, pid).BindBlob(2, digest);
      CJD_RETURN_IF_ERROR(st_->put_digest.Run());
    }
  }
  return Status::Ok();
}

Status OrderRollupWriter::Flush() {
  for (const auto& [key, delta] : days_) {
    const auto& [currency, day, store, channel] = key;
    DayFigures now = delta;
    st_->get_day.Bind(1, currency).Bind(2, day).Bind(3, store).Bind(4, channel);
    auto r = st_->get_day.Step();
    if (!r.ok()) {
      st_->get_day.Reset();
      return r.status();
    }
    if (*r) {
      now.rows += st_->get_day.ColumnInt(0);
      now.sale_orders += st_->get_day.ColumnInt(1);
      now.credit_notes += st_->get_day.ColumnInt(2);
      now.gross += ParseOrZero(st_->get_day.ColumnView(3));
      now.returns += ParseOrZero(st_->get_day.ColumnView(4));
      now.cust_rows += st_->get_day.ColumnInt(5);
      now.cust_orders += st_->get_day.ColumnInt(6);
      now.cust_gross += ParseOrZero(st_->get_day.ColumnView(7));
      now.cust_returns += ParseOrZero(st_->get_day.ColumnView(8));
    }
    st_->get_day.Reset();
    if (now.rows < 0 || now.cust_rows < 0 || now.cust_rows > now.rows) {
      return Status::Internal("rollup_orders: counts went negative for " + currency + " " +
                              std::to_string(day) + " (rebuild the rollups)");
    }
    if (now.rows == 0) {
      st_->delete_day.Bind(1, currency).Bind(2, day).Bind(3, store).Bind(4, channel);
      CJD_RETURN_IF_ERROR(st_->delete_day.Run());
      continue;
    }
    st_->put_day.Bind(1, currency)
        .Bind(2, day)
        .Bind(3, store)
        .Bind(4, channel)
        .Bind(5, now.rows)
        .Bind(6, now.sale_orders)
        .Bind(7, now.credit_notes)
        .Bind(8, now.gross.ToExact())
        .Bind(9, now.returns.ToExact())
        .Bind(10, now.cust_rows)
        .Bind(11, now.cust_orders)
        .Bind(12, now.cust_gross.ToExact())
        .Bind(13, now.cust_returns.ToExact());
    CJD_RETURN_IF_ERROR(st_->put_day.Run());
  }
  days_.clear();
  for (const auto& [key, delta] : points_) {
    if (delta == 0) continue;
    const PointKey& k = key;
    auto bind = [&k](sqlite::Statement& s) -> sqlite::Statement& {
      return s.Bind(1, std::get<0>(k)).Bind(2, std::get<1>(k)).Bind(3, std::get<2>(k))
          .Bind(4, std::get<3>(k)).Bind(5, std::get<4>(k)).Bind(6, std::get<5>(k))
          .Bind(7, std::get<6>(k)).Bind(8, std::get<7>(k));
    };
    // One descent of the B-tree: add, and read the sum back (a row that reaches 0 goes).
    bind(st_->put_point).Bind(9, delta);
    auto r = st_->put_point.Step();
    const int64_t n = r.ok() && *r ? st_->put_point.ColumnInt(0) : 0;
    st_->put_point.Reset();
    if (!r.ok()) return r.status();
    if (n < 0) return Status::Internal("rollup_customers: a count went negative (rebuild the rollups)");
    if (n == 0) CJD_RETURN_IF_ERROR(bind(st_->delete_point).Run());
  }
  points_.clear();
  for (const auto& [pid, entry] : top_) {
    const auto& [old_keys, now] = entry;
    for (const TopKey& key : old_keys) {
      if (now.count(key) > 0) continue;
      const auto& [currency, scope, store, channel] = key;
      st_->delete_top.Bind(1, currency).Bind(2, scope).Bind(3, channel).Bind(4, pid);
      CJD_RETURN_IF_ERROR(st_->delete_top.Run());
    }
    for (const auto& [key, f] : now) {
      const auto& [currency, scope, store, channel] = key;
      st_->put_top.Bind(1, currency)
          .Bind(2, scope)
          .Bind(3, channel)
          .Bind(4, pid)
          .Bind(5, f.orders)
          .Bind(6, f.gross.ToExact())
          .Bind(7, f.returns.ToExact())
          .Bind(8, RankKey(f.gross));
      CJD_RETURN_IF_ERROR(st_->put_top.Run());
    }
  }
  top_.clear();
  return Status::Ok();
}

void OrderRollupWriter::Discard() {
  days_.clear();
  points_.clear();
  top_.clear();
}

Status OrderRollupWriter::RebuildAll() {
  const auto started = std::chrono::steady_clock::now();
  Discard();
  CJD_RETURN_IF_ERROR(db_.Exec(
      "DELETE FROM rollup_orders; DELETE FROM rollup_customers; DELETE FROM rollup_top; "
      "DELETE FROM rollup_digest;"));
  int64_t orders = 0;
  {
    auto all = db_.Prepare("SELECT " CJD_ORDER_FACTS_COLUMNS " FROM orders");
    if (!all.ok()) return all.status();
    while (true) {
      auto row = all->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      OrderChanged(nullptr, ReadOrderFacts(*all));
      ++orders;
    }
  }
  CJD_RETURN_IF_ERROR(Flush());
  std::vector<int64_t> ids;
  {
    auto profiles = db_.Prepare(
        "SELECT DISTINCT profile_id FROM orders WHERE profile_id IS NOT NULL ORDER BY profile_id");
    if (!profiles.ok()) return profiles.status();
    while (true) {
      auto row = profiles->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(profiles->ColumnInt(0));
    }
  }
  // In chunks, so the deltas held in memory stay bounded.
  for (size_t i = 0; i < ids.size(); i += 10000) {
    std::set<int64_t> chunk(ids.begin() + static_cast<std::ptrdiff_t>(i),
                            ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), i + 10000)));
    CJD_RETURN_IF_ERROR(Refresh(chunk));
    CJD_RETURN_IF_ERROR(Flush());
  }
  spdlog::info("projection: order rollups built from {} orders of {} customers in {} ms", orders,
               ids.size(),
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started).count());
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// The reader

Status RollupReader::Currencies(std::map<std::string, Currency>* out) {
  auto s = statements_.Get(
      "SELECT currency, sum(sale_orders), min(day), max(day) FROM rollup_orders GROUP BY currency");
  if (!s.ok()) return s.status();
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    Currency& c = (*out)[(*s)->ColumnText(0)];
    c.sale_orders = (*s)->ColumnInt(1);
    c.min_day = (*s)->ColumnInt(2);
    c.max_day = (*s)->ColumnInt(3);
  }
  (*s)->Reset();
  return Status::Ok();
}

Status RollupReader::Months(const std::string& currency, const std::string& store,
                            const std::string& channel, int64_t f, int64_t t,
                            std::map<int64_t, MonthFigures>* out) {
  auto s = statements_.Get(
      "SELECT day / 100, sum(rows), sum(sale_orders), sum(credit_notes), money_sum(gross), "
      "money_sum(returns), sum(cust_rows), sum(cust_orders), money_sum(cust_gross), "
      "money_sum(cust_returns) FROM rollup_orders WHERE currency = ?1 AND day >= ?2 AND day < ?3 "
      "AND (?4 = '' OR store_id = ?4) AND (?5 = '' OR channel = ?5) GROUP BY day / 100");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, currency).Bind(2, f).Bind(3, t).Bind(4, store).Bind(5, channel);
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    MonthFigures& m = (*out)[(*s)->ColumnInt(0)];
    m.rows = (*s)->ColumnInt(1);
    m.sale_orders = (*s)->ColumnInt(2);
    m.credit_notes = (*s)->ColumnInt(3);
    m.gross = ParseOrZero((*s)->ColumnView(4));
    m.returns = ParseOrZero((*s)->ColumnView(5));
    m.cust_rows = (*s)->ColumnInt(6);
    m.cust_orders = (*s)->ColumnInt(7);
    m.cust_gross = ParseOrZero((*s)->ColumnView(8));
    m.cust_returns = ParseOrZero((*s)->ColumnView(9));
  }
  (*s)->Reset();
  return Status::Ok();
}

Result<int64_t> RollupReader::SumPoints(const std::string& currency, const std::string& store,
                                        const std::string& channel, int64_t kind,
                                        int64_t day_from, int64_t day_to, int64_t prev_from,
                                        int64_t prev_to, int64_t prev2_to) {
  auto s = statements_.Get(
      "SELECT coalesce(sum(n), 0) FROM rollup_customers WHERE currency = ?1 AND scope = ?2 "
      "AND store_id = ?3 AND channel = ?4 AND kind = ?5 AND day >= ?6 AND day < ?7 "
      "AND prev >= ?8 AND prev < ?9 AND prev2 < ?10");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, currency)
      .Bind(2, Scope(store, channel))
      .Bind(3, store)
      .Bind(4, channel)
      .Bind(5, kind)
      .Bind(6, day_from)
      .Bind(7, day_to)
      .Bind(8, prev_from)
      .Bind(9, prev_to)
      .Bind(10, prev2_to);
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  const int64_t n = *r ? (*s)->ColumnInt(0) : 0;
  (*s)->Reset();
  return n;
}

Result<int64_t> RollupReader::Customers(const std::string& currency, const std::string& store,
                                        const std::string& channel, int64_t f, int64_t t) {
  // The first order of each customer in [f, t): her first ever, or one whose previous is before f.
  auto first = SumPoints(currency, store, channel, kFirst, f, t, 0, 1, 1);
  if (!first.ok() || f <= 0) return first;
  auto later = SumPoints(currency, store, channel, kLater, f, t, 1, f, 1);
  if (!later.ok()) return later;
  return *first + *later;
}

Result<int64_t> RollupReader::NewCustomers(const std::string& currency, const std::string& store,
                                           const std::string& channel, int64_t f, int64_t t) {
  return SumPoints(currency, store, channel, kFirst, f, t, 0, 1, 1);
}

Result<int64_t> RollupReader::RepeatCustomers(const std::string& currency,
                                              const std::string& store,
                                              const std::string& channel, int64_t f, int64_t t) {
  // The second order of each customer in [f, t) (her previous is in it, the one before is not):
  // of the later orders in it whose one-before-previous is before f (kind 3 keeps it in prev;
  // 0 when there is none), those whose previous is before f too are each customer's first in it
  // (kind 2), the others her second.
  auto second_or_first = SumPoints(currency, store, channel, kLater2, f, t, 0,
                                   std::max<int64_t>(f, 1), 1);
  if (!second_or_first.ok() || f <= 0) return second_or_first;
  auto first = SumPoints(currency, store, channel, kLater, f, t, 1, f, 1);
  if (!first.ok()) return first;
  return *second_or_first - *first;
}

Status RollupReader::FirstOrdersByMonth(const std::string& currency, const std::string& store,
                                        const std::string& channel,
                                        std::map<int64_t, int64_t>* out) {
  auto s = statements_.Get(
      "SELECT day / 100, sum(n) FROM rollup_customers WHERE currency = ?1 AND scope = ?2 "
      "AND store_id = ?3 AND channel = ?4 AND kind = 1 GROUP BY day / 100");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, currency).Bind(2, Scope(store, channel)).Bind(3, store).Bind(4, channel);
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    (*out)[(*s)->ColumnInt(0)] = (*s)->ColumnInt(1);
  }
  (*s)->Reset();
  return Status::Ok();
}

Status RollupReader::CustomersByMonth(const std::string& currency, const std::string& store,
                                      const std::string& channel, int64_t first_month,
                                      int64_t last_month, std::map<int64_t, int64_t>* out) {
  auto s = statements_.Get(
      "SELECT day, n FROM rollup_customers WHERE currency = ?1 AND scope = ?2 AND store_id = ?3 "
      "AND channel = ?4 AND kind = 4 AND day >= ?5 AND day <= ?6");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, currency)
      .Bind(2, Scope(store, channel))
      .Bind(3, store)
      .Bind(4, channel)
      .Bind(5, first_month)
      .Bind(6, last_month);
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    (*out)[(*s)->ColumnInt(0)] += (*s)->ColumnInt(1);
  }
  (*s)->Reset();
  return Status::Ok();
}

Status RollupReader::Stores(const std::string& currency, std::vector<std::string>* out) {
  auto s = statements_.Get(
      "SELECT DISTINCT store_id FROM rollup_orders WHERE currency = ?1 ORDER BY store_id");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, currency);
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    out->push_back((*s)->ColumnText(0));
  }
  (*s)->Reset();
  return Status::Ok();
}

Money RollupReader::RankCeiling(int64_t rank) {
  return Money::FromUnits((static_cast<Int128>(rank) + 1) * 10'000'000);
}

Status RollupReader::VisitTop(const std::string& currency, const std::string& channel,
                              const std::function<bool(const Top&, int64_t rank)>& fn) {
  auto s = statements_.Get(
      "SELECT profile_id, orders, gross, returns, rank_key FROM rollup_top WHERE currency = ?1 "
      "AND scope = ?2 AND channel = ?3 ORDER BY rank_key DESC, profile_id");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, currency).Bind(2, Scope("", channel)).Bind(3, channel);
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    Top t;
    t.profile_id = (*s)->ColumnInt(0);
    t.orders = (*s)->ColumnInt(1);
    t.gross = ParseOrZero((*s)->ColumnView(2));
    t.returns = ParseOrZero((*s)->ColumnView(3));
    if (!fn(t, (*s)->ColumnInt(4))) break;
  }
  (*s)->Reset();
  return Status::Ok();
}

}  // namespace cjd::hub
