// Rule evaluation (three-valued), normalised printing and the fields a rule reads.
#include "hub/segments/rule.h"

#include <algorithm>
#include <optional>

#include "shared/event/event.h"

namespace cjd::hub::segments {
namespace {

Truth Not(Truth t) {
  if (t == Truth::kUnknown) return t;
  return t == Truth::kTrue ? Truth::kFalse : Truth::kTrue;
}

Truth FromBool(bool b) { return b ? Truth::kTrue : Truth::kFalse; }

// -1, 0, 1 when the fact and the literal compare; nullopt when they cannot (null, or types
// that do not meet). `equality_only` is set for values without an order (true/false).
std::optional<int> Order(const FactValue& fact, const Literal& lit, FieldType type,
                         bool* equality_only) {
  *equality_only = false;
  auto sign = [](auto a, auto b) { return a < b ? -1 : (b < a ? 1 : 0); };
  if (const auto* d = std::get_if<Decimal>(&lit.value)) {
    if (const auto* f = std::get_if<Decimal>(&fact)) return Decimal::Compare(*f, *d);
    if (const auto* s = std::get_if<std::string>(&fact)) {
      // A number kept as text ("312.40"): compared exactly when it is a decimal.
      Result<Decimal> parsed = Decimal::Parse(*s);
      if (parsed.ok()) return Decimal::Compare(*parsed, *d);
    }
    return std::nullopt;
  }
  if (const auto* b = std::get_if<bool>(&lit.value)) {
    const auto* f = std::get_if<bool>(&fact);
    if (f == nullptr) return std::nullopt;
    *equality_only = true;
    return *f == *b ? 0 : 1;
  }
  const std::string& s = std::get<std::string>(lit.value);
  std::optional<int64_t> fact_ms;
  if (const auto* f = std::get_if<Instant>(&fact)) fact_ms = f->utc_ms;
  if (const auto* f = std::get_if<std::string>(&fact)) {
    if (type != FieldType::kTime) return sign(std::string_view(*f), std::string_view(s));
    Result<int64_t> ms = ParseRfc3339(*f);
    if (ms.ok()) fact_ms = *ms;
  }
  if (!fact_ms) return std::nullopt;
  std::optional<Instant> lit_instant = lit.instant;
  if (!lit_instant) {  // attributes.* holding an instant: the literal must name one too
    Result<int64_t> ms = ParseRfc3339(s);
    if (!ms.ok()) return std::nullopt;
    lit_instant = Instant{*ms};
  }
  return sign(*fact_ms, lit_instant->utc_ms);
}

Truth Compare(const FactValue& fact, const Literal& lit, FieldType type, CompareOp op) {
  bool equality_only = false;
  std::optional<int> c = Order(fact, lit, type, &equality_only);
  if (!c) return Truth::kUnknown;
  switch (op) {
    case CompareOp::kEq: return FromBool(*c == 0);
    case CompareOp::kNe: return FromBool(*c != 0);
    default: break;
  }
  if (equality_only) return Truth::kUnknown;
  switch (op) {
    case CompareOp::kLt: return FromBool(*c < 0);
    case CompareOp::kLe: return FromBool(*c <= 0);
    case CompareOp::kGt: return FromBool(*c > 0);
    default: return FromBool(*c >= 0);
  }
}

Truth EvaluatePredicate(const Predicate& p, const ProfileFacts& facts) {
  static const FactValue kNull;
  const FactValue* found = facts.Find(p.field);
  const FactValue& fact = found != nullptr ? *found : kNull;
  const bool is_null = std::holds_alternative<std::monostate>(fact);
  switch (p.kind) {
    case PredicateKind::kIsNull: return FromBool(is_null);
    case PredicateKind::kIsNotNull: return FromBool(!is_null);
    case PredicateKind::kCompare: return Compare(fact, p.values[0], p.type, p.op);
    case PredicateKind::kIn:
    case PredicateKind::kNotIn: {
      Truth any = Truth::kFalse;
      for (const Literal& v : p.values) {
        const Truth t = Compare(fact, v, p.type, CompareOp::kEq);
        if (t == Truth::kTrue) {
          any = t;
          break;
        }
        if (t == Truth::kUnknown) any = t;
      }
      return p.kind == PredicateKind::kIn ? any : Not(any);
    }
    case PredicateKind::kContains: {
      const std::string& needle = std::get<std::string>(p.values[0].value);
      if (const auto* list = std::get_if<StringList>(&fact)) {
        return FromBool(std::find(list->begin(), list->end(), needle) != list->end());
      }
      if (const auto* s = std::get_if<std::string>(&fact)) {
        return FromBool(s->find(needle) != std::string::npos);
      }
      return Truth::kUnknown;
    }
  }
  return Truth::kUnknown;
}

Truth EvaluateNode(const RuleNode& n, const ProfileFacts& facts) {
  switch (n.kind) {
    case RuleNode::Kind::kPredicate: return EvaluatePredicate(n.predicate, facts);
    case RuleNode::Kind::kNot: return Not(EvaluateNode(n.children[0], facts));
    case RuleNode::Kind::kAnd:
    case RuleNode::Kind::kOr: {
      // and: false wins, then unknown; or: true wins, then unknown.
      const Truth decisive = n.kind == RuleNode::Kind::kAnd ? Truth::kFalse : Truth::kTrue;
      Truth result = Not(decisive);
      for (const RuleNode& c : n.children) {
        const Truth t = EvaluateNode(c, facts);
        if (t == decisive) return t;
        if (t == Truth::kUnknown) result = t;
      }
      return result;
    }
  }
  return Truth::kUnknown;
}

std::string LiteralText(const Literal& lit) {
  if (const auto* b = std::get_if<bool>(&lit.value)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<Decimal>(&lit.value)) return d->ToString();
  std::string out = "\"";
  for (const char c : std::get<std::string>(lit.value)) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

const char* OpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
  }
  return "?";
}

std::string PredicateText(const Predicate& p) {
  std::string out = p.field;
  auto list = [&] {
    out += " (";
    for (size_t i = 0; i < p.values.size(); ++i) {
      if (i > 0) out += ", ";
      out += LiteralText(p.values[i]);
    }
    out += ")";
  };
  switch (p.kind) {
    case PredicateKind::kCompare:
      out += std::string(" ") + OpText(p.op) + " " + LiteralText(p.values[0]);
      break;
    case PredicateKind::kIn: out += " in"; list(); break;
    case PredicateKind::kNotIn: out += " not in"; list(); break;
    case PredicateKind::kContains: out += " contains " + LiteralText(p.values[0]); break;
    case PredicateKind::kIsNull: out += " is null"; break;
    case PredicateKind::kIsNotNull: out += " is not null"; break;
  }
  return out;
}

// Precedence: or 1, and 2, not and conditions 3. A child is wrapped when it binds looser than
// its parent needs.
int Precedence(const RuleNode& n) {
  switch (n.kind) {
    case RuleNode::Kind::kOr: return 1;
    case RuleNode::Kind::kAnd: return 2;
    default: return 3;
  }
}

void Print(const RuleNode& n, std::string* out) {
  auto child = [&](const RuleNode& c, int needed) {
    const bool wrap = Precedence(c) < needed;
    if (wrap) out->push_back('(');
    Print(c, out);
    if (wrap) out->push_back(')');
  };
  switch (n.kind) {
    case RuleNode::Kind::kPredicate: *out += PredicateText(n.predicate); return;
    case RuleNode::Kind::kNot: *out += "not "; child(n.children[0], 3); return;
    case RuleNode::Kind::kAnd:
    case RuleNode::Kind::kOr: {
      const char* sep = n.kind == RuleNode::Kind::kAnd ? " and " : " or ";
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) *out += sep;
        child(n.children[i], Precedence(n) + 1);
      }
      return;
    }
  }
}

void CollectFields(const RuleNode& n, std::vector<std::string>* out) {
  if (n.kind == RuleNode::Kind::kPredicate) out->push_back(n.predicate.field);
  for (const RuleNode& c : n.children) CollectFields(c, out);
}

}  // namespace

Truth Rule::Evaluate(const ProfileFacts& facts) const { return EvaluateNode(root_, facts); }

std::vector<std::string> Rule::Fields() const {
  std::vector<std::string> out;
  CollectFields(root_, &out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string Rule::ToString() const {
  std::string out;
  Print(root_, &out);
  return out;
}

}  // namespace cjd::hub::segments
