// FactsFromProfileJson: the profile document of GET /v1/profiles/{id} as ProfileFacts.
#include "hub/segments/facts.h"

#include "hub/segments/fields.h"
#include "shared/event/event.h"

namespace cjd::hub::segments {
namespace {

using json = nlohmann::json;

constexpr int kMaxAttributeDepth = 8;

// An exact decimal from a JSON number or a decimal string; null otherwise. A float is taken in
// its shortest round-trip text (what the hub printed), never through arithmetic on the double.
FactValue NumberFact(const json& j) {
  if (j.is_number_integer() && !j.is_number_unsigned()) return Decimal(j.get<int64_t>(), 0);
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX)) return Decimal(static_cast<int64_t>(u), 0);
    return std::monostate{};
  }
  std::string text;
  if (j.is_number_float()) text = j.dump();
  else if (j.is_string()) text = j.get<std::string>();
  else return std::monostate{};
  Result<Decimal> d = Decimal::Parse(text);
  if (!d.ok()) return std::monostate{};
  return *d;
}

FactValue StringFact(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  return std::monostate{};
}

FactValue TimeFact(const json& j) {
  if (!j.is_string()) return std::monostate{};
  Result<int64_t> ms = ParseRfc3339(j.get<std::string>());
  if (!ms.ok()) return std::monostate{};
  return Instant{*ms};
}

FactValue ListFact(const json& j) {
  if (!j.is_array()) return std::monostate{};
  StringList out;
  for (const json& e : j) out.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  return out;
}

FactValue BoolFact(const json& j) {
  if (j.is_boolean()) return j.get<bool>();
  return std::monostate{};
}

FactValue TypedFact(const json& j, FieldType type) {
  switch (type) {
    case FieldType::kNumber: return NumberFact(j);
    case FieldType::kString: return StringFact(j);
    case FieldType::kList: return ListFact(j);
    case FieldType::kTime: return TimeFact(j);
    case FieldType::kBool: return BoolFact(j);
    case FieldType::kAny: break;
  }
  return std::monostate{};
}

// An attribute of any type. Numbers as exact decimals; strings stay strings (a rule compares a
// number literal with a decimal string exactly, and a time literal with an RFC 3339 string).
FactValue AnyFact(const json& j) {
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number()) return NumberFact(j);
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) return ListFact(j);
  return std::monostate{};
}

void AddAttributes(const json& obj, const std::string& prefix, int depth, ProfileFacts* out) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string name = prefix + it.key();
    if (it.value().is_object()) {
      if (depth < kMaxAttributeDepth) AddAttributes(it.value(), name + ".", depth + 1, out);
      continue;
    }
    if (!LookupField(name)) continue;  // a name no rule can write (upper case, spaces)
    out->Set(name, AnyFact(it.value()));
  }
}

const json* Member(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

}  // namespace

ProfileFacts FactsFromProfileJson(const json& profile) {
  ProfileFacts facts;
  static const json kNull;
  const json* traits_p = Member(profile, "traits");
  const json& traits = traits_p != nullptr ? *traits_p : kNull;
  for (const KnownField& f : KnownFields()) {
    if (f.name.starts_with("rfm.") || f.name == "consent") continue;
    // Below or from the journeys module: not traits.
    if (f.name.starts_with("journey_stage") || f.name == "tracked_events") continue;
    // The predictions' traits (hub/predictions) are added by the hub when it has them: set only
    // when the document carries them (a missing field reads as null either way).
    if ((f.name == "p_alive" || f.name == "churn_risk") && Member(traits, f.name.data()) == nullptr) {
      continue;
    }
    const json* v = Member(traits, std::string(f.name).c_str());
    facts.Set(std::string(f.name), v != nullptr ? TypedFact(*v, f.type) : FactValue());
  }
  // The predictions named for their horizon (expected_purchase_days_365d, predicted_clv_365d).
  // (`predicted_clv_{N}d` is a money string: NumberFact reads it exactly.)
  if (traits.is_object()) {
    for (const auto& [name, v] : traits.items()) {
      if (PredictionHorizonOf(name)) facts.Set(name, NumberFact(v));
    }
  }
  const json* rfm = Member(traits, "rfm");
  for (const char* part : {"recency", "frequency", "monetary"}) {
    const json* v = rfm != nullptr ? Member(*rfm, part) : nullptr;
    facts.Set(std::string("rfm.") + part, v != nullptr ? NumberFact(*v) : FactValue());
  }
  // The journey stage sits beside the traits ("journey_stage": {"current", "furthest"}), set by
  // the journeys module; a document without it (a test's) has no stage facts, like the tables'.
  if (const json* stage = Member(profile, "journey_stage"); stage != nullptr && stage->is_object()) {
    const json* current = Member(*stage, "current");
    const json* furthest = Member(*stage, "furthest");
    facts.Set("journey_stage", current != nullptr && current->is_string() ? FactValue(current->get<std::string>()) : FactValue());
    facts.Set("journey_stage_furthest", furthest != nullptr && furthest->is_string() ? FactValue(furthest->get<std::string>()) : FactValue());
  }
  const json* consent = Member(traits, "consent");
  if (consent != nullptr && consent->is_object()) consent = Member(*consent, "marketing");
  facts.Set("consent", consent != nullptr ? BoolFact(*consent) : FactValue());
  if (const json* attrs = Member(profile, "attributes"); attrs != nullptr) {
    AddAttributeFacts(*attrs, &facts);
  }
  return facts;
}

void AddAttributeFacts(const json& attributes, ProfileFacts* facts) {
  if (attributes.is_object()) AddAttributes(attributes, std::string(kAttributesPrefix), 1, facts);
}

}  // namespace cjd::hub::segments
