// Normalisation of raw field text before it is interned and compared. Pure functions.
//
// Rules by field (hub/matching/README.md has the table):
//   first_name, last_name      lower-case letters only ("O'Brien-Smith" -> "obriensmith")
//   date_of_birth              the 8 digits YYYYMMDD when the text is YYYYMMDD, YYYY-MM-DD or
//                              YYYY/MM/DD with a plausible month and day; otherwise its digits
//   street_number, postcode,   lower-case letters and digits only
//   region, national_id
//   phone                      digits only
//   address_line1/2, city      lower-case words of letters and digits, single spaces, common
//                              street-type words abbreviated (street -> st, road -> rd, ...)
//   email                      trimmed and lower-cased
// A value that normalises to "" is missing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hub/matching/fields.h"

namespace cjd::hub::matching {

std::string NormalizeField(Field field, std::string_view raw);

// True if `s` is 8 digits YYYYMMDD with month 1-12 and day 1-31.
bool IsDate8(std::string_view s);

// The words of a normalised address/city value (split on single spaces).
std::vector<std::string_view> Words(std::string_view normalised);

}  // namespace cjd::hub::matching
