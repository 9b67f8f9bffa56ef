// Erasure on the devices (issue 11): the hub's sealed erase command (FrameKind::kErase, on the
// device's down topic) and the device's sealed receipt (FrameKind::kEraseReceipt, on its uplink
// topic). Both JSON inside the seal, decoded strictly: sealed means authenticated, not
// well-formed.
//
//   command: {"erasure_id": "era_...", "identifiers": [["email", "ann@example.com"], ...],
//             "default_country": "GB"}
//     identifiers: the person's, normalised as the hub normalises them (hub/identity), 1..64;
//     types: loyalty_id, customer_id, email, phone, card_fingerprint, anonymous_id.
//     default_country: the hub's, for normalising phone numbers written without one.
//   receipt: {"erasure_id": "era_...", "outbox_redacted": N, "offers_removed": N}
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "shared/core/status.h"

namespace cjd {

struct EraseCommand {
  std::string erasure_id;
  std::vector<std::pair<std::string, std::string>> identifiers;  // (type name, value)
  std::string default_country;
};

struct EraseReceipt {
  std::string erasure_id;
  int64_t outbox_redacted = 0;  // outbox rows rewritten without the person
  int64_t offers_removed = 0;   // offer cache assignments removed
};

inline constexpr size_t kMaxEraseIdentifiers = 64;

// "era_" + 20 lower-case hex digits.
bool IsErasureId(std::string_view id);

std::string EncodeEraseCommand(const EraseCommand& c);
Result<EraseCommand> DecodeEraseCommand(std::string_view json_text);
std::string EncodeEraseReceipt(const EraseReceipt& r);
Result<EraseReceipt> DecodeEraseReceipt(std::string_view json_text);

}  // namespace cjd
