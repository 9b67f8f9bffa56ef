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

// True when the canonical event `body` carries any of `command`'s identifiers (customer fields
// and card fingerprint, normalised as the hub normalises them).
bool CarriesPerson(std::string_view body, const EraseCommand& command);

// Runs the erasure on this device. `offers` may be null (no offer cache). Waits for the outbox
// writer (bounded: kUnavailable after 60 s).
Result<EraseReceipt> EraseOnDevice(const EraseCommand& command, OutboxWriter* writer,
                                   OfferCache* offers);

}  // namespace cjd::agent
