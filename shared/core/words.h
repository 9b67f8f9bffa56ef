// A list of words kept in one text column: separated by single spaces (words hold no space).
// Used where a store keeps a short list in one row (a source's allowed origins, a webhook
// destination's event kinds).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cjd {

std::string JoinWords(const std::vector<std::string>& words);
// Empty words (doubled or trailing spaces) are skipped.
std::vector<std::string> SplitWords(std::string_view text);

}  // namespace cjd
