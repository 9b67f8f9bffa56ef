// ParseJsonExact's two parsers (shared/event/json_exact.cpp): the fast one for the common case
// and nlohmann's SAX parser for the rest. Whatever the fast one accepts, the SAX parser must
// accept as the same document, member for member and of the same types (an integer typed
// unsigned by one and signed by the other would change what the schema checks accept).
#include <string>

#include <nlohmann/json.hpp>

#include "shared/event/json_exact.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

bool SameTyped(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !SameTyped(*it, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameTyped(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(cjd::fuzz::AsText(data, size));
  nlohmann::json fast;
  const bool fast_ok = cjd::json_exact_internal::ParseFast(text, &fast);
  auto sax = cjd::json_exact_internal::ParseSax(text);
  if (!fast_ok) return 0;  // ParseJsonExact then answers with the SAX parser alone
  CJD_FUZZ_CHECK(sax.ok(), "the fast parser accepted what the SAX parser refuses (" +
                               sax.status().ToString() + "): " + text);
  CJD_FUZZ_CHECK(SameTyped(fast, *sax), "the two parsers built different documents: " + text);
  return 0;
}
