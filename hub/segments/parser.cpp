// ParseRule: recursive descent over the tokens.
//   rule      := or_expr END
//   or_expr   := and_expr ("or" and_expr)*
//   and_expr  := not_expr ("and" not_expr)*
//   not_expr  := "not" not_expr | "(" or_expr ")" | condition
//   condition := FIELD ( OP value | ["not"] "in" "(" value ("," value)* ")" | "contains" value
//                      | "is" ["not"] "null" )
//   value     := STRING | NUMBER | "true" | "false"
// Keywords are case-insensitive. Depth (parentheses and "not") and the number of conditions are
// bounded, so recursion and work are bounded whatever the input.
#include <algorithm>
#include <cctype>

#include "hub/segments/lexer.h"
#include "hub/segments/rule.h"
#include "shared/event/event.h"

namespace cjd::hub::segments {
namespace {

bool IsKeyword(const Token& t, std::string_view kw) {
  if (t.kind != Token::Kind::kWord || t.text.size() != kw.size()) return false;
  for (size_t i = 0; i < kw.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
  }
  return true;
}

bool IsAnyKeyword(const Token& t) {
  for (std::string_view kw : {"and", "or", "not", "in", "contains", "is", "null", "true",
                              "false"}) {
    if (IsKeyword(t, kw)) return true;
  }
  return false;
}

bool IsOrdering(CompareOp op) { return op != CompareOp::kEq && op != CompareOp::kNe; }

CompareOp OpFromText(std::string_view s) {
  if (s == "=") return CompareOp::kEq;
  if (s == "!=") return CompareOp::kNe;
  if (s == "<") return CompareOp::kLt;
  if (s == "<=") return CompareOp::kLe;
  if (s == ">") return CompareOp::kGt;
  return CompareOp::kGe;
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  Result<RuleNode> Parse() {
    Result<RuleNode> root = OrExpr();
    if (!root.ok()) return root;
    if (Peek().kind != Token::Kind::kEnd) {
      return Error(Peek(), "expected \"and\", \"or\" or end of rule, got " + Describe(Peek()));
    }
    return root;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  Status Error(const Token& at, const std::string& message) const {
    return RuleError(text_, at.offset, message);
  }

  // Parses operands separated by `keyword` into one flattened node of `kind`.
  template <typename Operand>
  Result<RuleNode> Chain(std::string_view keyword, RuleNode::Kind kind, Operand operand) {
    Result<RuleNode> first = operand();
    if (!first.ok()) return first;
    if (!IsKeyword(Peek(), keyword)) return first;
    RuleNode node;
    node.kind = kind;
    auto add = [&](RuleNode&& child) {
      if (child.kind == kind) {
        for (RuleNode& c : child.children) node.children.push_back(std::move(c));
      } else {
        node.children.push_back(std::move(child));
      }
    };
    add(std::move(*first));
    while (IsKeyword(Peek(), keyword)) {
      Next();
      Result<RuleNode> more = operand();
      if (!more.ok()) return more;
      add(std::move(*more));
    }
    return node;
  }

  Result<RuleNode> OrExpr() {
    return Chain("or", RuleNode::Kind::kOr, [this] { return AndExpr(); });
  }
  Result<RuleNode> AndExpr() {
    return Chain("and", RuleNode::Kind::kAnd, [this] { return NotExpr(); });
  }

  Status Deeper(const Token& at) {
    if (++depth_ > kMaxRuleDepth) {
      return Error(at, "nested deeper than " + std::to_string(kMaxRuleDepth) +
                           " levels of parentheses and \"not\"");
    }
    return Status::Ok();
  }

  Result<RuleNode> NotExpr() {
    const Token& t = Peek();
    if (IsKeyword(t, "not")) {
      CJD_RETURN_IF_ERROR(Deeper(t));
      Next();
      if (Peek().kind == Token::Kind::kEnd) {
        return Error(Peek(), "expected a condition after \"not\", got end of rule");
      }
      Result<RuleNode> inner = NotExpr();
      if (!inner.ok()) return inner;
      --depth_;
      RuleNode node;
      node.kind = RuleNode::Kind::kNot;
      node.children.push_back(std::move(*inner));
      return node;
    }
    if (t.kind == Token::Kind::kLParen) {
      CJD_RETURN_IF_ERROR(Deeper(t));
      const Token& open = Next();
      Result<RuleNode> inner = OrExpr();
      if (!inner.ok()) return inner;
      if (Peek().kind != Token::Kind::kRParen) {
        return Error(Peek(), "expected \")\" to close \"(\" at " +
                                 std::to_string(CharPosition(text_, open.offset)) + ", got " +
                                 Describe(Peek()));
      }
      Next();
      --depth_;
      return inner;
    }
    return Condition();
  }

  // What the previous token was, for "expected a condition after ...".
  std::string After() const {
    if (pos_ == 0) return "";
    return " after " + Describe(tokens_[pos_ - 1]);
  }

  Result<RuleNode> Condition() {
    const Token& f = Peek();
    if (f.kind != Token::Kind::kWord || IsAnyKeyword(f)) {
      return Error(f, "expected a condition" + After() + ", got " + Describe(f));
    }
    if (++terms_ > kMaxRuleTerms) {
      return Error(f, "more than " + std::to_string(kMaxRuleTerms) + " conditions");
    }
    std::optional<FieldType> type = LookupField(f.text);
    if (!type) {
      std::string msg = "unknown field \"" + f.text + "\"";
      if (std::any_of(f.text.begin(), f.text.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        msg += " (field names are lower case)";
      } else if (f.text.starts_with(kAttributesPrefix) || f.text == "attributes") {
        msg += " (expected attributes.NAME, NAME of [a-z0-9_])";
      }
      return Error(f, msg);
    }
    Next();
    RuleNode node;
    Predicate& p = node.predicate;
    p.field = f.text;
    p.type = *type;
    const Token& op = Next();
    if (op.kind == Token::Kind::kOperator) {
      p.kind = PredicateKind::kCompare;
      p.op = OpFromText(op.text);
      CJD_RETURN_IF_ERROR(CheckUsable(p, op));
      CJD_RETURN_IF_ERROR(Value(p, op));
    } else if (IsKeyword(op, "in")) {
      p.kind = PredicateKind::kIn;
      CJD_RETURN_IF_ERROR(CheckUsable(p, op));
      CJD_RETURN_IF_ERROR(List(p, op));
    } else if (IsKeyword(op, "not") && IsKeyword(Peek(), "in")) {
      p.kind = PredicateKind::kNotIn;
      CJD_RETURN_IF_ERROR(CheckUsable(p, op));
      CJD_RETURN_IF_ERROR(List(p, Next()));
    } else if (IsKeyword(op, "contains")) {
      p.kind = PredicateKind::kContains;
      CJD_RETURN_IF_ERROR(CheckUsable(p, op));
      CJD_RETURN_IF_ERROR(Value(p, op));
    } else if (IsKeyword(op, "is")) {
      const bool negated = IsKeyword(Peek(), "not");
      if (negated) Next();
      const Token& n = Next();
      if (!IsKeyword(n, "null")) {
        return Error(n, std::string("expected \"null\" after \"") +
                            (negated ? "is not" : "is") + "\", got " + Describe(n));
      }
      p.kind = negated ? PredicateKind::kIsNotNull : PredicateKind::kIsNull;
    } else {
      return Error(op, "expected an operator after " + p.field +
                           " (= != < <= > >= in, not in, contains, is null), got " +
                           Describe(op));
    }
    return node;
  }

  // Refuses an operator the field's type cannot take.
  Status CheckUsable(const Predicate& p, const Token& op) const {
    const std::string is = p.field + " is " + FieldTypeName(p.type);
    switch (p.type) {
      case FieldType::kList:
        if (p.kind != PredicateKind::kContains) {
          return Error(op, is + ": use contains, is null or is not null, not " + Describe(op));
        }
        break;
      case FieldType::kNumber:
      case FieldType::kTime:
      case FieldType::kBool:
        if (p.kind == PredicateKind::kContains) {
          return Error(op, is + ": contains needs a list or a string field");
        }
        if (p.type == FieldType::kBool && p.kind == PredicateKind::kCompare &&
            IsOrdering(p.op)) {
          return Error(op, is + ": only = and != compare it");
        }
        break;
      case FieldType::kString:
      case FieldType::kAny:
        break;
    }
    return Status::Ok();
  }

  // Reads one literal (after `prev`) into p.values, checking it fits the field.
  Status Value(Predicate& p, const Token& prev) {
    const Token& v = Next();
    Literal lit;
    if (v.kind == Token::Kind::kString) {
      lit.value = v.text;
    } else if (v.kind == Token::Kind::kNumber) {
      Result<Decimal> d = Decimal::Parse(v.text);
      if (!d.ok()) {
        return Error(v, "number out of range (at most 18 digits, 9 of them decimals): " + v.text);
      }
      lit.value = *d;
    } else if (IsKeyword(v, "true") || IsKeyword(v, "false")) {
      lit.value = IsKeyword(v, "true");
    } else {
      std::string msg = "expected a value after " + Describe(prev) + ", got " + Describe(v);
      if (IsKeyword(v, "null")) msg += " (use \"is null\" or \"is not null\")";
      return Error(v, msg);
    }
    CJD_RETURN_IF_ERROR(CheckLiteral(p, v, lit));
    p.values.push_back(std::move(lit));
    return Status::Ok();
  }

  Status CheckLiteral(const Predicate& p, const Token& v, Literal& lit) const {
    const bool is_string = std::holds_alternative<std::string>(lit.value);
    const bool is_number = std::holds_alternative<Decimal>(lit.value);
    const bool is_bool = std::holds_alternative<bool>(lit.value);
    const std::string is = p.field + " is " + FieldTypeName(p.type);
    if (p.kind == PredicateKind::kContains) {
      if (!is_string) return Error(v, "expected a string after \"contains\", got " + Describe(v));
      return Status::Ok();
    }
    switch (p.type) {
      case FieldType::kNumber:
        if (!is_number) return Error(v, is + ": expected a number, got " + Describe(v));
        break;
      case FieldType::kString:
        if (!is_string) return Error(v, is + ": expected a string, got " + Describe(v));
        break;
      case FieldType::kBool:
        if (!is_bool) return Error(v, is + ": expected true or false, got " + Describe(v));
        break;
      case FieldType::kTime: {
        Result<int64_t> ms = is_string ? ParseRfc3339(std::get<std::string>(lit.value))
                                       : Result<int64_t>(Status::Invalid(""));
        if (!ms.ok()) {
          return Error(v, is + ": expected an RFC 3339 time like \"2024-05-01T00:00:00Z\", got " +
                              Describe(v));
        }
        lit.instant = Instant{*ms};
        break;
      }
      case FieldType::kAny:
        if (is_bool && p.kind == PredicateKind::kCompare && IsOrdering(p.op)) {
          return Error(v, "only = and != compare true/false, got " + Describe(v));
        }
        break;
      case FieldType::kList:
        break;  // refused by CheckUsable
    }
    return Status::Ok();
  }

  // "(" value ("," value)* ")" after `kw` (the "in").
  Status List(Predicate& p, const Token& kw) {
    const Token& open = Next();
    if (open.kind != Token::Kind::kLParen) {
      return Error(open, "expected \"(\" after " + Describe(kw) + ", got " + Describe(open));
    }
    const Token* prev = &open;
    while (true) {
      CJD_RETURN_IF_ERROR(Value(p, *prev));
      const Token& sep = Next();
      if (sep.kind == Token::Kind::kRParen) return Status::Ok();
      if (sep.kind != Token::Kind::kComma) {
        return Error(sep, "expected \",\" or \")\" in the list, got " + Describe(sep));
      }
      prev = &sep;
    }
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int terms_ = 0;
};

}  // namespace

Result<Rule> ParseRule(std::string_view text) {
  if (text.size() > kMaxRuleBytes) {
    return RuleError(text, kMaxRuleBytes,
                     "rule is longer than " + std::to_string(kMaxRuleBytes) + " bytes");
  }
  Result<std::vector<Token>> tokens = Tokenize(text);
  if (!tokens.ok()) return tokens.status();
  Parser parser(text, std::move(*tokens));
  Result<RuleNode> root = parser.Parse();
  if (!root.ok()) return root.status();
  return Rule(std::move(*root));
}

}  // namespace cjd::hub::segments
