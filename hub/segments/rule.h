// Segment rules: a small boolean language over profile facts, e.g.
//   orders >= 2 and days_since_last_order > 60 and favourite_category = "candles"
// The grammar, the types and the null semantics are in hub/segments/README.md. A Rule is an
// immutable value (copyable, no I/O, safe to share between threads for reading): ParseRule
// checks everything it can when the rule is written (syntax, known fields, the type of each
// literal), so evaluation never fails.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hub/segments/facts.h"
#include "hub/segments/fields.h"
#include "shared/core/status.h"
#include "shared/event/decimal.h"

namespace cjd::hub::segments {

inline constexpr size_t kMaxRuleBytes = 4096;
inline constexpr int kMaxRuleDepth = 32;   // levels of "(" and "not"
inline constexpr int kMaxRuleTerms = 256;  // conditions (field comparisons)

// SQL's three-valued logic: a comparison with a missing (null) value is kUnknown, `not`
// leaves kUnknown as it is, `and`/`or` follow Kleene. A profile is a member only on kTrue.
enum class Truth { kFalse, kTrue, kUnknown };

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

struct Literal {
  std::variant<bool, Decimal, std::string> value;
  // For a string literal compared with a time field: the instant it names.
  std::optional<Instant> instant;
};

enum class PredicateKind { kCompare, kIn, kNotIn, kContains, kIsNull, kIsNotNull };

// One condition on one field.
struct Predicate {
  std::string field;
  FieldType type = FieldType::kAny;
  PredicateKind kind = PredicateKind::kCompare;
  CompareOp op = CompareOp::kEq;  // kCompare only
  std::vector<Literal> values;    // kCompare, kContains: one; kIn/kNotIn: one or more
};

// A node of the parsed rule. `and`/`or` chains are flattened (a and b and c: one kAnd with three
// children); parentheses leave no trace.
struct RuleNode {
  enum class Kind { kPredicate, kAnd, kOr, kNot };
  Kind kind = Kind::kPredicate;
  Predicate predicate;             // kPredicate
  std::vector<RuleNode> children;  // kAnd/kOr: two or more; kNot: one
};

class Rule {
 public:
  // True when the rule holds for the profile (Evaluate() == kTrue).
  bool Matches(const ProfileFacts& facts) const { return Evaluate(facts) == Truth::kTrue; }
  Truth Evaluate(const ProfileFacts& facts) const;

  // The fields the rule reads, sorted, each once ("attributes.tier", "orders", ...): a profile
  // change that touches none of them cannot change membership.
  std::vector<std::string> Fields() const;

  // Normalised text: lower-case keywords, single spaces, parentheses only where precedence
  // needs them, literals in canonical form (numbers keep their decimals: 100.10).
  // ParseRule(r.ToString()) is a rule equal to r.
  std::string ToString() const;

  const RuleNode& root() const { return root_; }

 private:
  friend Result<Rule> ParseRule(std::string_view text);
  explicit Rule(RuleNode root) : root_(std::move(root)) {}
  RuleNode root_;
};

// Parses a rule. Errors: Code::kInvalid, field "rule", message "at N: ..." with N the 1-based
// character position (UTF-8 characters) of the mistake and what was expected there.
Result<Rule> ParseRule(std::string_view text);

}  // namespace cjd::hub::segments
