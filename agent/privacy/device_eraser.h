// The device's part of an erasure (issue 11): on the hub's sealed erase command, the agent
// rewrites every waiting outbox row that carries the person without them (the unsent sales still
// reach the hub, anonymous), removes the person's offer assignment from the kiosk cache, and
// empties both databases' WAL (secure_delete zeroes the old bytes in the files). The uplink then
// answers with a sealed receipt (FrameKind::kEraseReceipt).
#pragma once

#include "agent/offers/offer_cache.h"
#include "agent/outbox/outbox_writer.h"
#include "shared/protocol/erase_command.h"

namespace cjd::agent {

// True when the canonical event `body` carries any of `command`'s identifiers: customer fields
// and card fingerprint normalised as the hub normalises them, phones compared by PhoneMayBe.
bool CarriesPerson(std::string_view body, const EraseCommand& command);

// Phones on the device. The hub normalises phones with libphonenumber (hub/identity/identifier.h);
// the agent does not link it (with protobuf and ICU it is about 40 MB of shared libraries, for
// this one comparison). The command carries the hub's E.164 value; a phone as written at the till
// ("011 15 2345-6789" in Argentina, "044 55 1234 5678" in Mexico, "+44 (0)20 ...") is taken to
// be that number when their last kPhoneTailDigits digits are equal (all digits when either has
// fewer). What libphonenumber removes or inserts -- international, trunk and carrier prefixes,
// Mexico's mobile "1", Argentina's "9" and "15" (after an area code of up to 4 digits, before a
// subscriber number of at least 6) -- stands before those digits, so a number the hub holds is
// not missed; the cost is that another customer's phone with the same last 6 digits waiting in
// the same outbox loses its customer part too, which an erasure accepts.
inline constexpr size_t kPhoneTailDigits = 6;
bool PhoneMayBe(std::string_view raw, std::string_view wanted);

// Runs the erasure on this device. `offers` may be null (no offer cache). Waits for the outbox
// writer (bounded: kUnavailable after 60 s).
Result<EraseReceipt> EraseOnDevice(const EraseCommand& command, OutboxWriter* writer,
                                   OfferCache* offers);

}  // namespace cjd::agent
