// JSON parsing that keeps numbers exact. nlohmann::json would turn 12.10 into a double; here every
// number with a fraction or an exponent is kept as its original text, wrapped as a string that
// starts with kRawNumberMark, so money can be parsed from its text (see Decimal::Parse).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "shared/core/status.h"

namespace cjd {

inline constexpr char kRawNumberMark = '\x01';

// Parses `text`. Integers that fit in 64 bits stay integers; other numbers become raw-number
// strings. On a syntax error the Status message names the byte offset.
Result<nlohmann::json> ParseJsonExact(std::string_view text);

// The two parsers ParseJsonExact runs, each on its own, for tests: the fast one (false when it
// leaves `text` to the other, which then decides) and nlohmann's SAX parser.
namespace json_exact_internal {
bool ParseFast(std::string_view text, nlohmann::json* out);
Result<nlohmann::json> ParseSax(std::string_view text);
}  // namespace json_exact_internal

// True if `j` is a number, or a raw-number string produced by ParseJsonExact.
bool IsJsonNumber(const nlohmann::json& j);
// The number's text: "12.10" for a raw number, "12" for an integer. REQUIRES: IsJsonNumber(j).
std::string JsonNumberText(const nlohmann::json& j);
// A name for the JSON type, for error messages ("string", "number", "object", ...).
const char* JsonTypeName(const nlohmann::json& j);

}  // namespace cjd
