// Offer update: the versioned downlink that fills a kiosk agent's offer cache
// (FrameKind::kOfferUpdate, hub -> device, sealed with the downlink key exactly like an ack).
//
// Frame header: first_seq = last_seq = the update's version V (must equal "version" below).
// Plaintext, JSON (UTF-8), version 1 of the format:
//   {
//     "version": V,                       // integer >= 1, increasing per device on the hub
//     "base": B,                          // optional (default 0), 0 <= B < V: the update holds
//                                         //   every item that changed after version B
//     "offers": [                         // optional (default []), at most 10,000
//       {"id": "o-1",                     // 1..64 chars of [A-Za-z0-9._:-]
//        "title": "...",                  // 1..200 bytes
//        "text": "...",                   // 0..2000 bytes
//        "valid_from": "2026-11-01T00:00:00Z",   // RFC 3339 with offset
//        "valid_until": "2026-12-01T00:00:00Z",  // RFC 3339, after valid_from (exclusive end)
//        "priority": 10,                  // integer (informational on the agent; the hub ranks)
//        "requires_consent": false,       // served only from a customer's own assignment
//        "max_per_customer": 0,           // integer >= 0, 0 = no limit (enforced by the hub)
//        "version": 7,                    // integer >= 1: this offer's version
//        "deleted": false}                // optional (default false); when true only id and
//     ],                                  //   version are required, other fields are ignored
//     "assignments": [                    // optional (default []), at most 200,000
//       {"loyalty_id": "L-1",             // 1..64 bytes, no control characters
//        "offers": ["o-1", "o-2"],        // ranked best first, 0..50 distinct offer ids: the
//                                         //   customer's whole list ([]: nothing for them)
//        "version": 7,                    // integer >= 1: this customer's assignment version
//        "deleted": false}                // optional (default false); true: no list of their
//                                         //   own any more (they get the general list);
//                                         //   "offers" is then not required
//     ],
//     "general": {"offers": ["o-3"], "version": 7}   // optional: the store's list for unknown
//   }                                                //   customers, ranked best first
// Unknown fields are rejected. Errors are kInvalid naming the field ("offers[2].valid_until").
//
// Ordering: updates may arrive out of order, twice, or not at all (a clean MQTT session loses
// what was published while the device was away). The receiver applies each offer, each
// customer's assignment and the general list only when its item `version` is newer than the one
// it holds (last writer wins per item); an item is sent whole, never as a diff.
// Progress is a contiguous watermark W (the receiver holds every item the hub changed up to W):
// an update (B, V] moves W to V when B <= W; otherwise its items are applied but W waits until
// the missing range arrives (updates received early are remembered, so a late (W, B] carries W
// on through them). The agent reports W in its heartbeat (offers_version); a hub resends what
// changed after W to a device whose W lags. B = 0 is a complete state. A hub may therefore send
// incremental updates (only changed items) and split a large state over several updates
// ((0, V1], (V1, V2], ...).
// Safe changes: new optional fields need a new format version (unknown fields are rejected).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/keys.h"

namespace cjd {

struct OfferRecord {
  std::string id;
  std::string title;
  std::string text;
  std::string valid_from;        // RFC 3339 text as sent
  std::string valid_until;
  int64_t valid_from_ms = 0;     // the same instants, UTC ms (set by the decoder)
  int64_t valid_until_ms = 0;
  int64_t priority = 0;
  bool requires_consent = false;
  int64_t max_per_customer = 0;
  uint64_t version = 0;
  bool deleted = false;
  bool operator==(const OfferRecord&) const = default;
};

struct OfferAssignment {
  std::string loyalty_id;
  std::vector<std::string> offers;  // ranked best first
  uint64_t version = 0;
  bool deleted = false;             // the customer has no list of their own any more
  bool operator==(const OfferAssignment&) const = default;
};

struct GeneralOffers {
  std::vector<std::string> offers;  // ranked best first
  uint64_t version = 0;
  bool operator==(const GeneralOffers&) const = default;
};

struct OfferUpdate {
  uint64_t version = 0;
  uint64_t base = 0;  // the update holds every item changed in (base, version]
  std::vector<OfferRecord> offers;
  std::vector<OfferAssignment> assignments;
  std::optional<GeneralOffers> general;
  bool operator==(const OfferUpdate&) const = default;
};

inline constexpr size_t kMaxOffersPerUpdate = 10'000;
inline constexpr size_t kMaxAssignmentsPerUpdate = 200'000;
inline constexpr size_t kMaxOffersPerList = 50;
// The largest plaintext the agent opens for an offer update (other downlink frames: 1 MiB).
inline constexpr size_t kMaxOfferUpdatePlaintext = 32u << 20;

// Offer ids: 1..64 chars of [A-Za-z0-9._:-] (the same rule as event offer_ids).
bool IsValidOfferId(std::string_view id);
// Loyalty ids as the agent takes them: 1..64 bytes, no control characters.
bool IsValidLoyaltyId(std::string_view id);

// A ranked list of offer ids as one text, "a,b,c" (offer ids never contain a comma), as the hub
// and the agent keep lists in SQLite; "" is the empty list.
std::string JoinOfferIds(const std::vector<std::string>& ids);
std::vector<std::string> SplitOfferIds(std::string_view text);

// Compact JSON, keys in sorted order. Deleted offers are written as {"deleted", "id", "version"}.
// REQUIRES: the update is valid (as DecodeOfferUpdate would accept); the *_ms fields are ignored.
std::string EncodeOfferUpdate(const OfferUpdate& update);
// Parses and validates; fills the *_ms fields. kInvalid naming the field on any mistake.
Result<OfferUpdate> DecodeOfferUpdate(std::string_view json_text);

// Seals an encoded update for `device_id` with the hub -> device key (header: kOfferUpdate,
// first_seq = last_seq = update.version, compressed when it helps).
std::string SealOfferUpdate(const OfferUpdate& update, std::string_view device_id,
                            const SymmetricKey& downlink_key, uint32_t key_id);
// Decodes the plaintext of an opened kOfferUpdate frame and checks that the header's sequence
// range names the update's version.
Result<OfferUpdate> DecodeOfferUpdateFrame(const FrameHeader& header, std::string_view plaintext);

}  // namespace cjd
