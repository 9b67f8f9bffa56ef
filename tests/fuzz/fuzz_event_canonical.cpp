// EventFromCanonical: how the hub's projector reads the event bodies a device sent in its sealed
// batches (authenticated, not necessarily well-formed). What it accepts must print back to
// canonical JSON that reads the same. And sealing at rest (SplitPersonal / JoinPersonal, the
// hub's event log): the split of an accepted body leaves no customer in the rest, and the join
// gives back the same event.
#include <string>

#include "shared/event/event.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(cjd::fuzz::AsText(data, size));
  auto e = cjd::EventFromCanonical(text);
  if (!e.ok()) return 0;
  const std::string canonical = cjd::ToCanonicalJson(*e);
  const cjd::PersonalSplit split = cjd::SplitPersonal(text);
  if (!split.personal.empty()) {
    auto joined = cjd::JoinPersonal(split.rest, split.personal);
    CJD_FUZZ_CHECK(joined.ok(), "the join of a split fails: " + joined.status().ToString());
    auto back = cjd::EventFromCanonical(*joined);
    CJD_FUZZ_CHECK(back.ok() && cjd::ToCanonicalJson(*back) == canonical,
                   "split + join changed the event: " + text + " -> " + *joined);
    auto anonymous = cjd::EventFromCanonical(cjd::MarkRedacted(split.rest));
    CJD_FUZZ_CHECK(!anonymous.ok() || !anonymous->customer.has_value(),
                   "the rest of a split still names a customer: " + split.rest);
  } else if (!e->redacted) {
    CJD_FUZZ_CHECK(!e->customer.has_value() || e->customer->empty(),
                   "an event with a customer split into nothing personal: " + text);
  }
  auto again = cjd::EventFromCanonical(canonical);
  CJD_FUZZ_CHECK(again.ok(), "ToCanonicalJson of an accepted event does not parse back: " +
                                 again.status().ToString() + " in " + canonical);
  CJD_FUZZ_CHECK(cjd::ToCanonicalJson(*again) == canonical,
                 "canonical JSON changed on a round trip: " + canonical);
  return 0;
}
