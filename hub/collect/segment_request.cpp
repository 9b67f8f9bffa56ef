#include "hub/collect/segment_request.h"

#include <sodium.h>

#include <cctype>
#include <string>

#include "hub/collect/collect_request.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

constexpr std::string_view kPrefix = "/v1/";
constexpr std::string_view kKinds[] = {"track", "identify", "page", "screen",
                                       "group", "alias",    "batch"};
constexpr size_t kMaxAttributes = 200;
constexpr size_t kMaxAttributeChars = 1024;

const json* Member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

// A string, or a number as written (Segment allows numeric ids); empty otherwise.
std::string IdText(const json* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number()) return v->dump();
  return {};
}

// "firstName" -> "first_name", "Postal Code" -> "postal_code": lower case, [a-z0-9_] only.
std::string SnakeKey(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (std::isupper(c)) {
      if (!out.empty() && out.back() != '_') out += '_';
      out += static_cast<char>(std::tolower(c));
    } else if (std::isalnum(c)) {
      out += static_cast<char>(c);
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.size() > 64) out.resize(64);
  return out;
}

// Segment's reserved traits that are our matching fields (hub/matching/fields.h).
std::string ReservedKey(const std::string& path) {
  if (path == "first_name" || path == "firstname") return "first_name";
  if (path == "last_name" || path == "lastname") return "last_name";
  if (path == "birthday") return "date_of_birth";
  if (path == "address_street") return "address_line1";
  if (path == "address_city") return "city";
  if (path == "address_postal_code") return "postcode";
  if (path == "address_state") return "region";
  if (path == "address_country") return "country";
  return path;
}

// Flattens `traits` into `out` (scalars only; strings clipped to 1,024 characters).
void Flatten(const json& traits, const std::string& prefix, json* out) {
  for (auto it = traits.begin(); it != traits.end() && out->size() < kMaxAttributes; ++it) {
    std::string key = SnakeKey(it.key());
    if (key.empty()) continue;
    if (!prefix.empty()) key = prefix + "_" + key;
    if (it->is_object()) {
      Flatten(*it, key, out);
      continue;
    }
    key = ReservedKey(key);
    if (key.size() > 64) key.resize(64);
    if (it->is_string()) {
      std::string v = it->get<std::string>();
      if (key == "date_of_birth" && v.size() > 10) v.resize(10);  // an ISO timestamp: its date
      if (v.size() > kMaxAttributeChars) v.resize(kMaxAttributeChars);
      (*out)[key] = v;
    } else if (it->is_number() || it->is_boolean()) {
      (*out)[key] = *it;
    }
  }
}

std::string MessageEventId(const std::string& message_id) {
  bool plain = !message_id.empty() && message_id.size() <= 128;
  for (char c : message_id) {
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                      c == ':' || c == '-');
  }
  if (plain) return message_id;
  unsigned char h[16];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(message_id.data()),
                     message_id.size(), nullptr, 0);
  static const char* kHex = "0123456789abcdef";
  std::string out = "seg-";
  for (unsigned char b : h) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Status Fail(std::string field, std::string message) {
  return Status::Invalid(std::move(message), std::move(field));
}

// One Segment call -> our event object (not validated yet).
Result<json> Translate(const json& call, std::string type, const json& batch_context,
                       const json* batch_sent_at, int64_t now_ms) {
  if (!call.is_object()) return Fail("", "must be a JSON object");
  if (const json* t = Member(call, "type"); t != nullptr) {
    if (!t->is_string()) return Fail("type", "must be a string");
    if (type.empty()) type = t->get<std::string>();
  }
  if (type.empty()) return Fail("type", "is required in a batch: track, identify, page, screen, group or alias");
  json e = json::object();
  json customer = json::object();
  const std::string user_id = IdText(Member(call, "userId"));
  const std::string anonymous_id = IdText(Member(call, "anonymousId"));
  if (user_id.empty() && anonymous_id.empty()) {
    return Fail("userId", "userId or anonymousId is required");
  }
  if (!user_id.empty()) customer["customer_id"] = user_id;
  if (!anonymous_id.empty()) customer["anonymous_id"] = anonymous_id;

  // Time: the call's timestamp, moved by the client's clock skew (receivedAt - sentAt).
  auto time_of = [](const json* v) -> std::optional<int64_t> {
    if (v == nullptr || !v->is_string()) return std::nullopt;
    Result<int64_t> ms = ParseRfc3339(v->get<std::string>());
    return ms.ok() ? std::optional<int64_t>(*ms) : std::nullopt;
  };
  for (const char* f : {"timestamp", "originalTimestamp", "sentAt"}) {
    if (const json* v = Member(call, f); v != nullptr && !time_of(v)) {
      return Fail(f, "must be an ISO 8601 time with an offset, like 2026-12-06T10:00:00.000Z");
    }
  }
  const json* sent_json = Member(call, "sentAt");
  if (sent_json == nullptr) sent_json = batch_sent_at;
  const std::optional<int64_t> sent = time_of(sent_json);
  std::optional<int64_t> at = time_of(Member(call, "timestamp"));
  if (!at) at = time_of(Member(call, "originalTimestamp"));
  if (!at) at = sent;
  int64_t occurred = at ? *at : now_ms;
  if (at && sent) occurred += now_ms - *sent;
  e["occurred_at"] = FormatRfc3339(occurred);
  if (const json* m = Member(call, "messageId"); m != nullptr) {
    const std::string id = IdText(m);
    if (id.empty()) return Fail("messageId", "must be a string");
    e["event_id"] = MessageEventId(id);
  }

  json properties = json::object();
  if (const json* p = Member(call, "properties"); p != nullptr) {
    if (!p->is_object()) return Fail("properties", "must be an object");
    properties = *p;
  }
  json context = batch_context.is_object() ? batch_context : json::object();
  if (const json* c = Member(call, "context"); c != nullptr) {
    if (!c->is_object()) return Fail("context", "must be an object");
    for (auto it = c->begin(); it != c->end(); ++it) context[it.key()] = *it;
  }
  json traits = json::object();
  if (const json* t = Member(call, "traits"); t != nullptr) {
    if (!t->is_object()) return Fail("traits", "must be an object");
    traits = *t;
  } else if (const json* ct = Member(context, "traits"); ct != nullptr && ct->is_object()) {
    traits = *ct;  // analytics.js puts the known traits in context.traits
  }
  auto add_identifiers_from_traits = [&] {
    if (const json* em = Member(traits, "email"); em != nullptr && em->is_string() &&
                                                   IsValidEmail(em->get<std::string>())) {
      customer["email"] = *em;
    }
    if (const json* ph = Member(traits, "phone"); ph != nullptr && ph->is_string() &&
                                                   IsValidPhone(ph->get<std::string>())) {
      customer["phone"] = *ph;
    }
  };

  if (type == "identify" || type == "group" || type == "alias") {
    e["type"] = "identify";
    json attributes = json::object();
    if (type == "identify") {
      add_identifiers_from_traits();
      Flatten(traits, "", &attributes);
    } else if (type == "group") {
      const std::string group_id = IdText(Member(call, "groupId"));
      if (group_id.empty()) return Fail("groupId", "is required for group");
      attributes["group_id"] = group_id;
      Flatten(traits, "group", &attributes);
    } else {
      const std::string previous = IdText(Member(call, "previousId"));
      if (previous.empty()) return Fail("previousId", "is required for alias");
      if (user_id.empty()) return Fail("userId", "is required for alias");
      customer["anonymous_id"] = previous;
    }
    if (!attributes.empty()) e["attributes"] = std::move(attributes);
  } else if (type == "page" || type == "screen") {
    e["type"] = "page_view";
    if (type == "screen") e["channel"] = "app";
    if (const json* n = Member(call, "name"); n != nullptr && n->is_string()) properties["name"] = *n;
    if (!properties.contains("url")) {
      if (const json* page = Member(context, "page"); page != nullptr) {
        if (const json* url = Member(*page, "url"); url != nullptr) properties["url"] = *url;
      }
    }
  } else if (type == "track") {
    const json* name = Member(call, "event");
    if (name == nullptr || !name->is_string() || name->get<std::string>().empty()) {
      return Fail("event", "is required for track: the event's name");
    }
    const std::string n = name->get<std::string>();
    if (n.size() > 512 || CountCodePoints(n) > 128) {
      return Fail("event", "must have at most 128 characters");
    }
    for (const char c : n) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Fail("event", "must not contain control characters");
      }
    }
    auto sku_from = [](json* props) {
      if (!props->contains("sku")) {
        if (const json* pid = Member(*props, "product_id"); pid != nullptr) {
          (*props)["sku"] = IdText(pid);
        }
      }
    };
    if (n == "Product Viewed") {
      e["type"] = "product_view";
      sku_from(&properties);
    } else if (n == "Product Added") {
      e["type"] = "add_to_cart";
      sku_from(&properties);
    } else if (n == "Product Removed") {
      e["type"] = "remove_from_cart";
      sku_from(&properties);
    } else if (n == "Checkout Started") {
      e["type"] = "checkout_started";
    } else if (n == "Order Completed") {
      e["type"] = "order_completed";
      const std::string order_id = IdText(Member(properties, "order_id"));
      if (order_id.empty()) return Fail("properties.order_id", "is required for Order Completed");
      json order = {{"order_id", order_id}, {"currency", "USD"}};
      if (const json* c = Member(properties, "currency"); c != nullptr && c->is_string()) {
        std::string cur = c->get<std::string>();
        for (char& ch : cur) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        order["currency"] = cur;
      }
      json items = json::array();
      if (const json* products = Member(properties, "products"); products != nullptr) {
        if (!products->is_array()) return Fail("properties.products", "must be an array");
        for (size_t i = 0; i < products->size(); ++i) {
          const json& p = (*products)[i];
          const std::string path = "properties.products[" + std::to_string(i) + "]";
          if (!p.is_object()) return Fail(path, "must be an object");
          std::string sku = IdText(Member(p, "sku"));
          if (sku.empty()) sku = IdText(Member(p, "product_id"));
          if (sku.empty()) return Fail(path + ".sku", "sku or product_id is required");
          const json* price = Member(p, "price");
          if (price == nullptr) return Fail(path + ".price", "is required");
          json item = {{"sku", sku}, {"unit_price", *price}};
          const json* q = Member(p, "quantity");
          item["quantity"] = q != nullptr ? *q : json(1);
          if (const json* cat = Member(p, "category"); cat != nullptr && cat->is_string()) {
            item["category"] = *cat;
          }
          if (const json* nm = Member(p, "name"); nm != nullptr && nm->is_string()) {
            item["description"] = *nm;
          }
          items.push_back(std::move(item));
        }
      }
      if (items.empty()) {
        const json* value = Member(properties, "revenue");
        if (value == nullptr) value = Member(properties, "total");
        if (value == nullptr) {
          return Fail("properties.products", "Order Completed needs products, revenue or total");
        }
        items.push_back({{"sku", "order"}, {"quantity", 1}, {"unit_price", *value}});
      }
      order["items"] = std::move(items);
      e["order"] = std::move(order);
      properties.erase("products");
    } else {
      // Any other name: a custom event of our own `track` type, name and properties kept.
      e["type"] = "track";
      e["name"] = n;
    }
    if (e["type"] != "track") properties["event"] = n;
  } else {
    return Fail("type", "must be track, identify, page, screen, group or alias");
  }
  e["customer"] = std::move(customer);
  if (!context.empty()) {
    context.erase("traits");
    if (!context.empty()) properties["context"] = std::move(context);
  }
  if (!properties.empty()) e["properties"] = std::move(properties);
  return e;
}

}  // namespace

bool IsSegmentPath(std::string_view path) {
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view kind = path.substr(kPrefix.size());
  for (std::string_view k : kKinds) {
    if (kind == k) return true;
  }
  return false;
}

std::string SegmentWriteKey(const http::Request& head) {
  const std::string auth = head.Header("authorization");
  if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
  if (auth.rfind("Basic ", 0) != 0) return {};
  const std::string encoded = auth.substr(6);
  std::string decoded(encoded.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                        encoded.data(), encoded.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return {};
  }
  decoded.resize(len);
  return decoded.substr(0, decoded.find(':'));  // user name = the key; the password is empty
}

SegmentParse ParseSegmentRequest(const http::Request& req, int64_t now_ms) {
  SegmentParse out;
  const std::string media = MediaType(req.Header("content-type"));
  // analytics.js sends text/plain (a "simple" request: no CORS preflight).
  if (!media.empty() && media != "application/json" && media != "text/plain") {
    out.error = http::JsonError(415, "unsupported_media_type",
                                "the body must be JSON (application/json or text/plain)");
    return out;
  }
  auto parsed = ParseJsonExact(req.body);
  if (!parsed.ok()) {
    out.error = http::JsonError(400, "invalid_json", parsed.status().message(), "body");
    return out;
  }
  if (!parsed->is_object()) {
    out.error = http::InvalidField("body", "must be a JSON object (a Segment call or a batch)");
    return out;
  }
  if (const json* k = Member(*parsed, "writeKey"); k != nullptr && k->is_string()) {
    out.write_key = k->get<std::string>();
  }
  const std::string kind = req.path.substr(kPrefix.size());
  std::vector<std::pair<const json*, std::string>> calls;  // (call, its path prefix in errors)
  json batch_context = json::object();
  const json* batch_sent_at = nullptr;
  if (kind == "batch") {
    const json* batch = Member(*parsed, "batch");
    if (batch == nullptr || !batch->is_array()) {
      out.error = http::InvalidField("batch", "must be an array of calls");
      return out;
    }
    if (batch->size() > kMaxCollectEvents) {
      out.error = http::JsonError(413, "payload_too_large",
                                  "at most " + std::to_string(kMaxCollectEvents) + " calls", "batch");
      return out;
    }
    if (const json* c = Member(*parsed, "context"); c != nullptr && c->is_object()) batch_context = *c;
    batch_sent_at = Member(*parsed, "sentAt");
    for (size_t i = 0; i < batch->size(); ++i) {
      calls.emplace_back(&(*batch)[i], "batch[" + std::to_string(i) + "]");
    }
  } else {
    calls.emplace_back(&*parsed, "");
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    const auto& [call, where] = calls[i];
    Result<json> e = Translate(*call, kind == "batch" ? "" : kind, batch_context, batch_sent_at, now_ms);
    Result<Event> v = e.ok() ? ValidateEvent(*e, kCollectEventTypes) : Result<Event>(e.status());
    if (!v.ok()) {
      const std::string field = where.empty() ? v.status().field()
                                              : (v.status().field().empty()
                                                     ? where
                                                     : where + "." + v.status().field());
      if (kind != "batch") {
        out.error = http::InvalidField(field, v.status().message());
        return out;
      }
      out.errors.push_back({{"index", i}, {"field", field}, {"message", v.status().message()}});
      continue;
    }
    out.events.push_back(ToCollectEvent(std::move(*v), now_ms));
  }
  return out;
}

}  // namespace cjd::hub
