// Rows -> order_completed events; the rules are in order_assembler.h.
#include "tools/cjdctl/import/order_assembler.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

namespace cjd::import {
namespace {

constexpr size_t kMaxEventIdChars = 128;
constexpr size_t kMaxPartDigits = 6;
constexpr size_t kMaxSourceChars = 40;
constexpr int64_t kMaxQuantity = 1'000'000;
const Decimal kMaxUnitPrice(1'000'000'000'000, 0);  // the hub's limit, 10^12

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// nullopt when `s` is valid UTF-8 (no overlong forms, no surrogates), has no control characters
// and at most `max_chars` code points; otherwise the problem.
std::optional<std::string> CheckText(std::string_view s, size_t max_chars) {
  size_t chars = 0;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return std::string("contains a control character");
      ++i;
    } else {
      size_t len = 0;
      uint32_t cp = 0;
      if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
      } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
      } else {
        return std::string("is not valid UTF-8");
      }
      if (i + len > s.size()) return std::string("is not valid UTF-8");
      for (size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return std::string("is not valid UTF-8");
        cp = (cp << 6) | (cc & 0x3F);
      }
      if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
          (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        return std::string("is not valid UTF-8");
      }
      if (cp >= 0x80 && cp <= 0x9F) return std::string("contains a control character");
      i += len;
    }
    ++chars;
  }
  if (chars > max_chars) {
    return "is longer than " + std::to_string(max_chars) + " characters";
  }
  return std::nullopt;
}

// Free text: tabs and line breaks become spaces.
void NormaliseFreeText(std::string_view in, std::string* out) {
  out->assign(in.data(), in.size());
  for (char& c : *out) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
  }
}


// "-12" / "+3" / "7" -> integer; nullopt on anything else or beyond ±10^15.
std::optional<int64_t> ParseInteger(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 15) return std::nullopt;
  int64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

std::string Quote(std::string_view v) {
  std::string out = "\"";
  out.append(v.substr(0, 60));
  if (v.size() > 60) out += "...";
  out += "\"";
  return out;
}

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c != '"' && c != '\\' && c >= 0x20) continue;
    out->append(s, start, i - start);
    start = i + 1;
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
  out->append(s, start, std::string_view::npos);
  out->push_back('"');
}

void AppendMember(std::string* out, const char* key, std::string_view value, bool* first) {
  if (!*first) out->push_back(',');
  *first = false;
  out->push_back('"');
  out->append(key);
  out->append("\":");
  AppendJsonString(out, value);
}

}  // namespace

std::string BadRow::ToString() const {
  std::string out = file + ":" + std::to_string(line) + ": ";
  if (!field.empty()) {
    out += field;
    if (!column.empty() && column != field) out += " (column " + column + ")";
    out += ": ";
  }
  out += message;
  if (!order_id.empty()) out += " [order " + order_id + "]";
  return out;
}

std::string EncodeIdPart(std::string_view order_id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(order_id.size());
  for (const char c : order_id) {
    if (IsIdChar(c)) {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('.');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string ToEventJson(const ImportedOrder& o) {
  std::string out;
  out.reserve(256 + o.items.size() * 96);
  out.append(R"({"type":"order_completed")");
  bool first = false;
  AppendMember(&out, "event_id", o.event_id, &first);
  AppendMember(&out, "occurred_at", o.occurred_at, &first);
  AppendMember(&out, "store_id", o.store_id, &first);
  AppendMember(&out, "channel", o.channel, &first);
  if (!o.customer.empty()) {
    out.append(R"(,"customer":{)");
    bool f = true;
    if (!o.customer.customer_id.empty())
      AppendMember(&out, "customer_id", o.customer.customer_id, &f);
    if (!o.customer.loyalty_id.empty()) AppendMember(&out, "loyalty_id", o.customer.loyalty_id, &f);
    if (!o.customer.email.empty()) AppendMember(&out, "email", o.customer.email, &f);
    if (!o.customer.phone.empty()) AppendMember(&out, "phone", o.customer.phone, &f);
    out.push_back('}');
  }
  out.append(R"(,"order":{)");
  bool f = true;
  AppendMember(&out, "order_id", o.order_id, &f);
  AppendMember(&out, "currency", o.currency, &f);
  out.append(R"(,"items":[)");
  for (size_t i = 0; i < o.items.size(); ++i) {
    const OrderLine& l = o.items[i];
    if (i > 0) out.push_back(',');
    out.push_back('{');
    bool fi = true;
    AppendMember(&out, "sku", l.sku, &fi);
    out.append(R"(,"quantity":)");
    out.append(std::to_string(l.quantity));
    AppendMember(&out, "unit_price", l.unit_price.ToString(), &fi);
    if (!l.description.empty()) AppendMember(&out, "description", l.description, &fi);
    if (!l.category.empty()) AppendMember(&out, "category", l.category, &fi);
    out.push_back('}');
  }
  out.append("]}");
  if (!o.country.empty()) {
    out.append(R"(,"properties":{)");
    bool fp = true;
    AppendMember(&out, "country", o.country, &fp);
    out.push_back('}');
  }
  out.push_back('}');
  return out;
}

// ---- OrderAssembler --------------------------------------------------------------------------

OrderAssembler::OrderAssembler(AssemblerOptions options, OrderSink on_order, BadRowSink on_bad_row)
    : options_(std::move(options)),
      on_order_(std::move(on_order)),
      on_bad_row_(std::move(on_bad_row)) {}

Result<OrderAssembler> OrderAssembler::Create(AssemblerOptions options, const FieldMap& map,
                                              OrderSink on_order, BadRowSink on_bad_row) {
  const std::string& src = options.source;
  if (src.empty() || src.size() > kMaxSourceChars ||
      !std::all_of(src.begin(), src.end(), [](char c) { return IsIdChar(c) || c == '.'; })) {
    return Status::Invalid("--source: '" + src.substr(0, 60) + "' must be 1 to " +
                           std::to_string(kMaxSourceChars) +
                           " letters, digits, '.', '_' or '-' (it is part of every event id)");
  }
  if (!options.currency.empty() && !IsCurrencyCode(options.currency)) {
    return Status::Invalid("--currency: '" + options.currency.substr(0, 20) +
                           "' is not an ISO 4217 currency code (upper case, like GBP)");
  }
  if (options.currency.empty() && !map.has(Field::kCurrency)) {
    return Status::Invalid(
        "--currency is required unless a currency column is mapped "
        "(currency=COLUMN in --map)");
  }
  if (options.default_channel.empty() || CheckText(options.default_channel, 32).has_value()) {
    return Status::Invalid("channel: the default channel must be 1 to 32 characters");
  }
  if (options.max_items_per_event == 0 ||
      options.max_buffered_lines < options.max_items_per_event) {
    return Status::Invalid("max_buffered_lines must be at least max_items_per_event (> 0)");
  }
  if (!on_order) return Status::Invalid("no order sink");
  return OrderAssembler(std::move(options), std::move(on_order), std::move(on_bad_row));
}

void OrderAssembler::BeginFile(const std::string& file, const ColumnMap& columns) {
  file_ = file;
  columns_ = columns;
}

void OrderAssembler::Report(int64_t line, std::optional<Field> field, std::string order_id,
                            std::string message) {
  ++stats_.bad_rows;
  if (!on_bad_row_) return;
  BadRow b;
  b.file = file_;
  b.line = line;
  if (field.has_value()) {
    b.field = std::string(FieldName(*field));
    b.column = columns_.column[static_cast<size_t>(*field)];
  }
  b.order_id = std::move(order_id);
  b.message = std::move(message);
  on_bad_row_(b);
}

void OrderAssembler::StartRun(const std::string& order_id, int64_t line) {
  Run& r = run_;
  r.active = true;
  r.order_id = order_id;
  r.file = file_;
  r.first_line = line;
  r.rows = 0;
  r.bad_rows = 0;
  r.parts_emitted = 0;
  r.occurred_at.clear();
  r.occurred_at_ms = 0;
  r.store_id.clear();
  r.channel.clear();
  r.currency.clear();
  r.country.clear();
  r.store_line = r.channel_line = r.currency_line = 0;
  r.customer = Customer{};
  std::fill(std::begin(r.customer_lines), std::end(r.customer_lines), 0);
  r.items.clear();
  const auto it = next_part_.find(Fnv1a(order_id));
  if (it != next_part_.end()) {
    r.first_part = it->second;
    ++stats_.reappeared_runs;
  } else {
    r.first_part = 0;
  }
}

Status OrderAssembler::EmitParts(size_t count_lines) {
  Run& r = run_;
  size_t done = 0;
  while (done < count_lines) {
    const size_t n = std::min(options_.max_items_per_event, count_lines - done);
    ImportedOrder& o = scratch_;
    o.part = r.first_part + r.parts_emitted;
    o.order_id = r.order_id;
    o.event_id =
        "import:" + options_.source + ":" + EncodeIdPart(r.order_id) + ":" + std::to_string(o.part);
    o.occurred_at = r.occurred_at;
    o.occurred_at_ms = r.occurred_at_ms;
    o.store_id = r.store_id.empty() ? options_.source : r.store_id;
    o.channel = r.channel.empty() ? options_.default_channel : r.channel;
    o.currency = r.currency.empty() ? options_.currency : r.currency;
    o.country = r.country;
    o.customer = r.customer;
    o.items.assign(std::make_move_iterator(r.items.begin() + static_cast<ptrdiff_t>(done)),
                   std::make_move_iterator(r.items.begin() + static_cast<ptrdiff_t>(done + n)));
    o.file = r.file;
    o.first_line = o.items.front().line;
    ++r.parts_emitted;
    ++stats_.events;
    stats_.lines += static_cast<int64_t>(n);
    done += n;
    CJD_RETURN_IF_ERROR(on_order_(o));
  }
  r.items.erase(r.items.begin(), r.items.begin() + static_cast<ptrdiff_t>(count_lines));
  return Status::Ok();
}

Status OrderAssembler::FinishRun(bool emit) {
  Run& r = run_;
  if (!r.active) return Status::Ok();
  r.active = false;
  const uint64_t consumed =
      std::max<uint64_t>(1, (static_cast<uint64_t>(r.rows) + options_.max_items_per_event - 1) /
                                options_.max_items_per_event);
  next_part_[Fnv1a(r.order_id)] = r.first_part + static_cast<uint32_t>(consumed);
  if (r.bad_rows > 0 || !emit) {
    ++stats_.dropped_runs;
    stats_.dropped_rows += static_cast<int64_t>(r.items.size());
    r.items.clear();
    return Status::Ok();
  }
  return EmitParts(r.items.size());
}

void OrderAssembler::AbortFile() { (void)FinishRun(/*emit=*/false); }

Status OrderAssembler::EndFile() { return FinishRun(/*emit=*/true); }

Status OrderAssembler::AddRow(const CsvRow& row) {
  ++stats_.rows;
  const std::vector<std::string>& fields = row.fields;
  const auto value = [&](Field f) -> std::string_view {
    const std::optional<size_t> idx = columns_[f];
    if (!idx.has_value() || *idx >= fields.size()) return {};
    return Trim(fields[*idx]);
  };
  const std::string_view order_id = value(Field::kOrderId);
  const bool width_ok = fields.size() == columns_.header_size;
  if (order_id.empty()) {
    // Cannot belong to an order: reported, and the current run goes on.
    if (!width_ok) {
      Report(row.line, std::nullopt, {},
             "has " + std::to_string(fields.size()) + " fields; the header has " +
                 std::to_string(columns_.header_size));
    } else {
      Report(row.line, Field::kOrderId, {}, "is empty (required)");
    }
    return Status::Ok();
  }
  if (!run_.active || run_.order_id != order_id) {
    CJD_RETURN_IF_ERROR(FinishRun(/*emit=*/true));
    StartRun(std::string(order_id), row.line);
  }
  Run& r = run_;
  ++r.rows;
  const std::string oid(order_id);
  const auto bad = [&](std::optional<Field> f, std::string message) {
    Report(row.line, f, oid, std::move(message));
    ++r.bad_rows;
    stats_.dropped_rows += static_cast<int64_t>(r.items.size());
    r.items.clear();
    return Status::Ok();
  };

  if (!width_ok) {
    return bad(std::nullopt, "has " + std::to_string(fields.size()) + " fields; the header has " +
                                 std::to_string(columns_.header_size));
  }
  if (auto e = CheckText(order_id, 64)) return bad(Field::kOrderId, *e);
  if (7 + options_.source.size() + 1 + EncodeIdPart(order_id).size() + 1 + kMaxPartDigits >
      kMaxEventIdChars) {
    return bad(Field::kOrderId,
               "is too long to form an event id (at most 128 characters with "
               "\"import:\", the source and the part number)");
  }

  // occurred_at
  const std::string_view when = value(Field::kOccurredAt);
  if (when.empty()) return bad(Field::kOccurredAt, "is empty (required)");
  if (when != last_time_text_) {
    last_time_text_.assign(when.data(), when.size());
    last_time_ = ParseImportTime(when, options_.time_zone ? &*options_.time_zone : nullptr);
  }
  if (!last_time_.ok()) return bad(Field::kOccurredAt, last_time_.status().message());

  OrderLine line;
  line.line = row.line;
  // sku
  const std::string_view sku = value(Field::kSku);
  if (sku.empty()) return bad(Field::kSku, "is empty (required)");
  if (auto e = CheckText(sku, 64)) return bad(Field::kSku, *e);
  line.sku.assign(sku.data(), sku.size());
  // quantity
  const std::string_view qty = value(Field::kQuantity);
  if (qty.empty()) return bad(Field::kQuantity, "is empty (required)");
  const std::optional<int64_t> q = ParseInteger(qty);
  if (!q.has_value()) return bad(Field::kQuantity, "is not an integer: " + Quote(qty));
  if (*q == 0) return bad(Field::kQuantity, "is 0 (a line needs a non-zero quantity)");
  if (*q > kMaxQuantity || *q < -kMaxQuantity) {
    return bad(Field::kQuantity, "is outside -1000000..1000000: " + Quote(qty));
  }
  line.quantity = *q;
  // unit_price
  const std::string_view price = value(Field::kUnitPrice);
  if (price.empty()) return bad(Field::kUnitPrice, "is empty (required)");
  Result<Decimal> p = Decimal::Parse(price);
  if (!p.ok()) return bad(Field::kUnitPrice, p.status().message());
  if (p->is_negative()) {
    return bad(Field::kUnitPrice,
               "is negative (" + p->ToString() +
                   "): a unit price must be >= 0; a negative amount such as a bad-debt "
                   "adjustment is neither a sale nor a return line");
  }
  if (kMaxUnitPrice < *p) return bad(Field::kUnitPrice, "is more than 1000000000000");
  line.unit_price = *p;
  // description, category (free text)
  if (const std::string_view d = value(Field::kDescription); !d.empty()) {
    NormaliseFreeText(d, &line.description);
    if (auto e = CheckText(line.description, 512)) return bad(Field::kDescription, *e);
  }
  if (const std::string_view c = value(Field::kCategory); !c.empty()) {
    NormaliseFreeText(c, &line.category);
    if (auto e = CheckText(line.category, 256)) return bad(Field::kCategory, *e);
  }

  // Order-level values: checked, then compared with the run's earlier non-empty values.
  struct Level {
    Field field;
    size_t max_chars;
    std::string* run_value;
    int64_t* run_line;
  };
  const Level levels[] = {
      {Field::kCustomerId, 64, &r.customer.customer_id, &r.customer_lines[0]},
      {Field::kLoyaltyId, 64, &r.customer.loyalty_id, &r.customer_lines[1]},
      {Field::kEmail, 254, &r.customer.email, &r.customer_lines[2]},
      {Field::kPhone, 40, &r.customer.phone, &r.customer_lines[3]},
      {Field::kStoreId, 64, &r.store_id, &r.store_line},
      {Field::kChannel, 32, &r.channel, &r.channel_line},
      {Field::kCurrency, 3, &r.currency, &r.currency_line},
  };
  std::string_view level_values[std::size(levels)];
  for (size_t i = 0; i < std::size(levels); ++i) {
    const Level& l = levels[i];
    const std::string_view v = value(l.field);
    level_values[i] = v;
    if (v.empty()) {
      if (l.field == Field::kCurrency && options_.currency.empty() && r.currency.empty()) {
        return bad(Field::kCurrency, "is empty and no --currency was given");
      }
      continue;
    }
    if (auto e = CheckText(v, l.max_chars)) return bad(l.field, *e);
    if (l.field == Field::kEmail && !IsValidEmail(v)) {
      return bad(l.field, "is not an email address: " + Quote(v));
    }
    if (l.field == Field::kPhone && !IsValidPhone(v)) {
      return bad(l.field,
                 "is not a phone number (5 to 20 digits with optional spaces and + - ( ) "
                 ".): " +
                     Quote(v));
    }
    if (l.field == Field::kCurrency && !IsCurrencyCode(v)) {
      return bad(l.field, "is not an ISO 4217 currency code: " + Quote(v));
    }
    if (!l.run_value->empty() && *l.run_value != v) {
      return bad(l.field, "differs within order " + oid + ": " + Quote(*l.run_value) + " on line " +
                              std::to_string(*l.run_line) + ", " + Quote(v) + " here");
    }
  }
  const std::string_view country = value(Field::kCountry);
  if (!country.empty()) {
    if (auto e = CheckText(country, 64)) return bad(Field::kCountry, *e);
  }

  if (r.bad_rows > 0) {  // the run is dropped anyway; keep nothing
    ++stats_.dropped_rows;
    return Status::Ok();
  }
  // Commit.
  for (size_t i = 0; i < std::size(levels); ++i) {
    if (!level_values[i].empty() && levels[i].run_value->empty()) {
      levels[i].run_value->assign(level_values[i].data(), level_values[i].size());
      *levels[i].run_line = row.line;
    }
  }
  if (r.country.empty() && !country.empty()) r.country.assign(country.data(), country.size());
  if (r.occurred_at.empty()) {
    r.occurred_at = last_time_->rfc3339;
    r.occurred_at_ms = last_time_->utc_ms;
  }
  r.items.push_back(std::move(line));
  if (r.items.size() >= options_.max_buffered_lines) {
    // A very long run: send its full parts now to keep memory bounded.
    const size_t full =
        r.items.size() / options_.max_items_per_event * options_.max_items_per_event;
    return EmitParts(full);
  }
  return Status::Ok();
}

}  // namespace cjd::import
