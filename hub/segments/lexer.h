// The tokens of a segment rule. Internal to cjd_segments (the parser's first step).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"

namespace cjd::hub::segments {

struct Token {
  enum class Kind { kEnd, kWord, kString, kNumber, kOperator, kLParen, kRParen, kComma };
  Kind kind = Kind::kEnd;
  size_t offset = 0;  // byte offset in the rule text
  std::string text;   // kWord: as written; kString: the value (escapes resolved);
                      // kNumber: as written; kOperator: "=", "!=", "<", "<=", ">", ">="
};

// 1-based character position (UTF-8 code points) of byte `offset` in `text`.
size_t CharPosition(std::string_view text, size_t offset);

// An error at byte `offset`: kInvalid, field "rule", "at N: message".
Status RuleError(std::string_view text, size_t offset, const std::string& message);

// Splits `text` into tokens, ending with one kEnd. Words are [A-Za-z_][A-Za-z0-9_.]* (the
// parser decides keyword or field); numbers are -?[0-9]+(.[0-9]+)?; strings are double-quoted
// with \" and \\ as the only escapes.
Result<std::vector<Token>> Tokenize(std::string_view text);

// How a token is named in an error: end of rule, "and", string "abc", 12.5.
std::string Describe(const Token& t);

}  // namespace cjd::hub::segments
