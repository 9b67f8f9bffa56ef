#include "shared/protocol/offer_update.h"

#include <set>

#include <nlohmann/json.hpp>

#include "shared/event/event.h"

namespace cjd {
namespace {

using nlohmann::json;

constexpr size_t kMaxTitleBytes = 200;
constexpr size_t kMaxTextBytes = 2000;

// Validation helpers: each returns a kInvalid Status naming `field` on a mistake.
class Fields {
 public:
  Fields(const json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  std::string Name(std::string_view key) const { return prefix_ + std::string(key); }

  Status Only(std::initializer_list<std::string_view> keys) const {
    for (const auto& [k, v] : obj_.items()) {
      bool known = false;
      for (auto key : keys) known = known || k == key;
      if (!known) return Status::Invalid(Name(k) + ": unknown field", Name(k));
    }
    return Status::Ok();
  }

  bool Has(std::string_view key) const { return obj_.contains(std::string(key)); }

  Status String(std::string_view key, size_t min, size_t max, std::string* out) const {
    auto it = obj_.find(std::string(key));
    if (it == obj_.end()) return Status::Invalid(Name(key) + ": required", Name(key));
    if (!it->is_string()) return Status::Invalid(Name(key) + ": must be a string", Name(key));
    *out = it->get<std::string>();
    if (out->size() < min || out->size() > max)
      return Status::Invalid(Name(key) + ": must be " + std::to_string(min) + ".." +
                                 std::to_string(max) + " bytes",
                             Name(key));
    return Status::Ok();
  }

  Status Int(std::string_view key, int64_t min, int64_t* out) const {
    auto it = obj_.find(std::string(key));
    if (it == obj_.end()) return Status::Invalid(Name(key) + ": required", Name(key));
    if (!it->is_number_integer())
      return Status::Invalid(Name(key) + ": must be an integer", Name(key));
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return Status::Invalid(Name(key) + ": out of range", Name(key));
    *out = it->get<int64_t>();
    if (*out < min)
      return Status::Invalid(Name(key) + ": must be >= " + std::to_string(min), Name(key));
    return Status::Ok();
  }

  Status Version(std::string_view key, uint64_t* out) const {
    int64_t v = 0;
    CJD_RETURN_IF_ERROR(Int(key, 1, &v));
    *out = static_cast<uint64_t>(v);
    return Status::Ok();
  }

  Status Bool(std::string_view key, bool* out) const {
    auto it = obj_.find(std::string(key));
    if (it == obj_.end()) return Status::Invalid(Name(key) + ": required", Name(key));
    if (!it->is_boolean()) return Status::Invalid(Name(key) + ": must be true or false", Name(key));
    *out = it->get<bool>();
    return Status::Ok();
  }

  Status Time(std::string_view key, std::string* text, int64_t* ms) const {
    CJD_RETURN_IF_ERROR(String(key, 1, 64, text));
    auto parsed = ParseRfc3339(*text);
    if (!parsed.ok())
      return Status::Invalid(Name(key) + ": must be an RFC 3339 date-time with an offset",
                             Name(key));
    *ms = *parsed;
    return Status::Ok();
  }

  Status IdList(std::string_view key, std::vector<std::string>* out) const {
    auto it = obj_.find(std::string(key));
    if (it == obj_.end()) return Status::Invalid(Name(key) + ": required", Name(key));
    if (!it->is_array()) return Status::Invalid(Name(key) + ": must be an array", Name(key));
    if (it->size() > kMaxOffersPerList)
      return Status::Invalid(Name(key) + ": at most " + std::to_string(kMaxOffersPerList) +
                                 " offer ids",
                             Name(key));
    std::set<std::string> seen;
    out->clear();
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string f = Name(key) + "[" + std::to_string(i) + "]";
      const json& v = (*it)[i];
      if (!v.is_string() || !IsValidOfferId(v.get_ref<const std::string&>()))
        return Status::Invalid(f + ": must be an offer id (1-64 of A-Z a-z 0-9 . _ : -)", f);
      if (!seen.insert(v.get<std::string>()).second)
        return Status::Invalid(f + ": repeated offer id", f);
      out->push_back(v.get<std::string>());
    }
    return Status::Ok();
  }

 private:
  const json& obj_;
  std::string prefix_;
};

Status NotObject(const std::string& field) {
  return Status::Invalid((field.empty() ? std::string("update") : field) + ": must be an object",
                         field);
}

Status DecodeOffer(const json& j, const std::string& prefix, OfferRecord* o) {
  if (!j.is_object()) return NotObject(prefix.substr(0, prefix.size() - 1));
  Fields f(j, prefix);
  CJD_RETURN_IF_ERROR(f.Only({"id", "title", "text", "valid_from", "valid_until", "priority",
                              "requires_consent", "max_per_customer", "version", "deleted"}));
  CJD_RETURN_IF_ERROR(f.String("id", 1, 64, &o->id));
  if (!IsValidOfferId(o->id))
    return Status::Invalid(f.Name("id") + ": must be 1-64 of A-Z a-z 0-9 . _ : -", f.Name("id"));
  CJD_RETURN_IF_ERROR(f.Version("version", &o->version));
  if (f.Has("deleted")) CJD_RETURN_IF_ERROR(f.Bool("deleted", &o->deleted));
  if (o->deleted) return Status::Ok();  // a tombstone: the rest is not needed
  CJD_RETURN_IF_ERROR(f.String("title", 1, kMaxTitleBytes, &o->title));
  CJD_RETURN_IF_ERROR(f.String("text", 0, kMaxTextBytes, &o->text));
  CJD_RETURN_IF_ERROR(f.Time("valid_from", &o->valid_from, &o->valid_from_ms));
  CJD_RETURN_IF_ERROR(f.Time("valid_until", &o->valid_until, &o->valid_until_ms));
  if (o->valid_until_ms <= o->valid_from_ms)
    return Status::Invalid(f.Name("valid_until") + ": must be after valid_from",
                           f.Name("valid_until"));
  CJD_RETURN_IF_ERROR(f.Int("priority", INT64_MIN, &o->priority));
  CJD_RETURN_IF_ERROR(f.Bool("requires_consent", &o->requires_consent));
  CJD_RETURN_IF_ERROR(f.Int("max_per_customer", 0, &o->max_per_customer));
  return Status::Ok();
}

Status DecodeAssignment(const json& j, const std::string& prefix, OfferAssignment* a) {
  if (!j.is_object()) return NotObject(prefix.substr(0, prefix.size() - 1));
  Fields f(j, prefix);
  CJD_RETURN_IF_ERROR(f.Only({"loyalty_id", "offers", "version", "deleted"}));
  CJD_RETURN_IF_ERROR(f.String("loyalty_id", 1, 64, &a->loyalty_id));
  if (!IsValidLoyaltyId(a->loyalty_id))
    return Status::Invalid(f.Name("loyalty_id") + ": must not contain control characters",
                           f.Name("loyalty_id"));
  if (f.Has("deleted")) CJD_RETURN_IF_ERROR(f.Bool("deleted", &a->deleted));
  if (!a->deleted) CJD_RETURN_IF_ERROR(f.IdList("offers", &a->offers));
  return f.Version("version", &a->version);
}

json IdsJson(const std::vector<std::string>& ids) {
  json a = json::array();
  for (const auto& id : ids) a.push_back(id);
  return a;
}

}  // namespace

bool IsValidOfferId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidLoyaltyId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  // Well-formed UTF-8 (the id ends up in events and JSON), no control characters.
  for (size_t i = 0; i < id.size();) {
    const auto u = static_cast<unsigned char>(id[i]);
    if (u < 0x20 || u == 0x7f) return false;
    size_t n = 0;
    uint32_t cp = 0;
    if (u < 0x80) {
      ++i;
      continue;
    } else if ((u & 0xE0) == 0xC0) {
      n = 1, cp = u & 0x1F;
    } else if ((u & 0xF0) == 0xE0) {
      n = 2, cp = u & 0x0F;
    } else if ((u & 0xF8) == 0xF0) {
      n = 3, cp = u & 0x07;
    } else {
      return false;
    }
    if (i + n >= id.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(id[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::string JoinOfferIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out.push_back(',');
    out += id;
  }
  return out;
}

std::vector<std::string> SplitOfferIds(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string EncodeOfferUpdate(const OfferUpdate& u) {
  json j;
  j["version"] = u.version;
  if (u.base != 0) j["base"] = u.base;
  json offers = json::array();
  for (const auto& o : u.offers) {
    json x;
    x["id"] = o.id;
    x["version"] = o.version;
    x["deleted"] = o.deleted;
    if (!o.deleted) {
      x["title"] = o.title;
      x["text"] = o.text;
      x["valid_from"] = o.valid_from;
      x["valid_until"] = o.valid_until;
      x["priority"] = o.priority;
      x["requires_consent"] = o.requires_consent;
      x["max_per_customer"] = o.max_per_customer;
    }
    offers.push_back(std::move(x));
  }
  j["offers"] = std::move(offers);
  json assignments = json::array();
  for (const auto& a : u.assignments) {
    if (a.deleted) {
      assignments.push_back(
          json{{"deleted", true}, {"loyalty_id", a.loyalty_id}, {"version", a.version}});
    } else {
      assignments.push_back(json{
          {"loyalty_id", a.loyalty_id}, {"offers", IdsJson(a.offers)}, {"version", a.version}});
    }
  }
  j["assignments"] = std::move(assignments);
  if (u.general) j["general"] = json{{"offers", IdsJson(u.general->offers)},
                                     {"version", u.general->version}};
  return j.dump();
}

Result<OfferUpdate> DecodeOfferUpdate(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid("offer update: not valid JSON", "");
  if (!j.is_object()) return NotObject("");
  Fields f(j, "");
  CJD_RETURN_IF_ERROR(f.Only({"version", "base", "offers", "assignments", "general"}));
  OfferUpdate u;
  CJD_RETURN_IF_ERROR(f.Version("version", &u.version));
  if (j.contains("base")) {
    const json& b = j["base"];
    if (!b.is_number_unsigned()) return Status::Invalid("base: must be an integer >= 0", "base");
    u.base = b.get<uint64_t>();
    if (u.base >= u.version) return Status::Invalid("base: must be less than version", "base");
  }
  if (j.contains("offers")) {
    const json& a = j["offers"];
    if (!a.is_array()) return Status::Invalid("offers: must be an array", "offers");
    if (a.size() > kMaxOffersPerUpdate)
      return Status::Invalid("offers: at most " + std::to_string(kMaxOffersPerUpdate), "offers");
    u.offers.resize(a.size());
    std::set<std::string> seen;
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string p = "offers[" + std::to_string(i) + "].";
      CJD_RETURN_IF_ERROR(DecodeOffer(a[i], p, &u.offers[i]));
      if (!seen.insert(u.offers[i].id).second)
        return Status::Invalid(p + "id: repeated in this update", p + "id");
    }
  }
  if (j.contains("assignments")) {
    const json& a = j["assignments"];
    if (!a.is_array()) return Status::Invalid("assignments: must be an array", "assignments");
    if (a.size() > kMaxAssignmentsPerUpdate)
      return Status::Invalid("assignments: at most " + std::to_string(kMaxAssignmentsPerUpdate),
                             "assignments");
    u.assignments.resize(a.size());
    std::set<std::string> seen;
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string p = "assignments[" + std::to_string(i) + "].";
      CJD_RETURN_IF_ERROR(DecodeAssignment(a[i], p, &u.assignments[i]));
      if (!seen.insert(u.assignments[i].loyalty_id).second)
        return Status::Invalid(p + "loyalty_id: repeated in this update", p + "loyalty_id");
    }
  }
  if (j.contains("general")) {
    const json& g = j["general"];
    if (!g.is_object()) return NotObject("general");
    Fields gf(g, "general.");
    CJD_RETURN_IF_ERROR(gf.Only({"offers", "version"}));
    GeneralOffers general;
    CJD_RETURN_IF_ERROR(gf.IdList("offers", &general.offers));
    CJD_RETURN_IF_ERROR(gf.Version("version", &general.version));
    u.general = std::move(general);
  }
  return u;
}

std::string SealOfferUpdate(const OfferUpdate& update, std::string_view device_id,
                            const SymmetricKey& downlink_key, uint32_t key_id) {
  FrameHeader h;
  h.kind = FrameKind::kOfferUpdate;
  h.key_id = key_id;
  h.first_seq = update.version;
  h.last_seq = update.version;
  return SealFrame(h, device_id, EncodeOfferUpdate(update), downlink_key);
}

Result<OfferUpdate> DecodeOfferUpdateFrame(const FrameHeader& header, std::string_view plaintext) {
  if (header.kind != FrameKind::kOfferUpdate)
    return Status::Invalid("frame: not an offer update", "kind");
  auto u = DecodeOfferUpdate(plaintext);
  if (!u.ok()) return u.status();
  if (header.first_seq != u->version || header.last_seq != u->version)
    return Status::Invalid("version: does not match the frame header's sequence range",
                           "version");
  return u;
}

}  // namespace cjd
