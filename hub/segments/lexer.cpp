#include "hub/segments/lexer.h"

namespace cjd::hub::segments {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsWordChar(char c) { return IsWordStart(c) || IsDigit(c) || c == '.'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A string's value with " and \ escaped again, cut at 40 bytes (on a character boundary).
std::string Quote(std::string_view s) {
  std::string out = "\"";
  size_t n = 0;
  for (const char c : s) {
    if (n >= 40 && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
    ++n;
  }
  out.push_back('"');
  return out;
}

}  // namespace

size_t CharPosition(std::string_view text, size_t offset) {
  size_t pos = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++pos;
  }
  if (offset > text.size()) pos += offset - text.size();
  return pos;
}

Status RuleError(std::string_view text, size_t offset, const std::string& message) {
  return Status::Invalid("at " + std::to_string(CharPosition(text, offset)) + ": " + message,
                         "rule");
}

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Token::Kind::kEnd: return "end of rule";
    case Token::Kind::kString: return "string " + Quote(t.text);
    case Token::Kind::kNumber: return t.text;
    default: return Quote(t.text);
  }
}

Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> out;
  size_t i = 0;
  while (true) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    Token t;
    t.offset = i;
    if (i == text.size()) {
      out.push_back(std::move(t));
      return out;
    }
    const char c = text[i];
    if (IsWordStart(c)) {
      size_t j = i;
      while (j < text.size() && IsWordChar(text[j])) ++j;
      t.kind = Token::Kind::kWord;
      t.text = std::string(text.substr(i, j - i));
      i = j;
    } else if (IsDigit(c) || (c == '-' && i + 1 < text.size() && IsDigit(text[i + 1]))) {
      size_t j = i + 1;
      while (j < text.size() && IsDigit(text[j])) ++j;
      if (j + 1 < text.size() && text[j] == '.' && IsDigit(text[j + 1])) {
        j += 2;
        while (j < text.size() && IsDigit(text[j])) ++j;
      }
      if (j < text.size() && (IsWordChar(text[j]) || text[j] == '"')) {
        return RuleError(text, i,
                         "malformed number (expected digits with an optional decimal point, "
                         "like 12 or -3.50)");
      }
      t.kind = Token::Kind::kNumber;
      t.text = std::string(text.substr(i, j - i));
      i = j;
    } else if (c == '"') {
      t.kind = Token::Kind::kString;
      size_t j = i + 1;
      while (true) {
        if (j >= text.size()) {
          return RuleError(text, i, "unterminated string (expected a closing \")");
        }
        if (text[j] == '"') break;
        if (text[j] == '\\') {
          if (j + 1 < text.size() && (text[j + 1] == '"' || text[j + 1] == '\\')) {
            t.text.push_back(text[j + 1]);
            j += 2;
            continue;
          }
          return RuleError(text, j, "unknown escape in string (only \\\" and \\\\)");
        }
        t.text.push_back(text[j]);
        ++j;
      }
      i = j + 1;
    } else if (c == '(' || c == ')' || c == ',') {
      t.kind = c == '(' ? Token::Kind::kLParen
                        : (c == ')' ? Token::Kind::kRParen : Token::Kind::kComma);
      t.text = std::string(1, c);
      ++i;
    } else if (c == '=' || c == '<' || c == '>' || c == '!') {
      const bool two = i + 1 < text.size() && text[i + 1] == '=' && c != '=';
      if (c == '!' && !two) {
        return RuleError(text, i, "unexpected character \"!\" (expected \"!=\")");
      }
      t.kind = Token::Kind::kOperator;
      t.text = std::string(text.substr(i, two ? 2 : 1));
      i += two ? 2 : 1;
    } else {
      const size_t len = (static_cast<unsigned char>(c) & 0x80) == 0 ? 1 : [&] {
        size_t n = 1;
        while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) ++n;
        return n;
      }();
      return RuleError(text, i,
                       "unexpected character \"" + std::string(text.substr(i, len)) + "\"");
    }
    out.push_back(std::move(t));
  }
}

}  // namespace cjd::hub::segments
