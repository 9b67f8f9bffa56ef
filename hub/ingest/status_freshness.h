// Status freshness: which device statuses the hub takes, so that a captured status cannot be
// replayed later (the nonce cache is in memory only, and a hub restart empties it). Pure.
//
// A status is ordered by the device's clock when it built it (`clock_ms`); the hub keeps, per
// device, the mark of the newest one it took, and restores it at start from the status it stored.
//   - a status newer than the mark is taken;
//   - the last will is built when the agent connects, so it is older than the heartbeats that
//     follow; it is taken when it is the will of the current connection: each heartbeat names it
//     (`will_ms`), and the mark remembers the last heartbeat's;
//   - a status with the mark's very time is the one held (the broker redelivers the retained
//     status at each hub start): nothing new, ignored without counting;
//   - anything older is a replay (counted as `replay`).
// When the hub takes a will, it holds the last heartbeat's figures marked offline (WillStatus):
// the will's own figures (backlog, sequence numbers, offer watermark) are those of the moment the
// device connected. That held status names the will (`will_ms`), so the broker redelivering the
// retained will later (at each hub start) is the status held, not a replay.
// A device whose clock steps back has its heartbeats ignored until its clock passes the mark (its
// fleet entry goes offline meanwhile; its events are not affected). The mark restored at start
// is that of the stored status (after a will: the last heartbeat's time, and the will it names).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/protocol/device_status.h"

namespace cjd::hub {

struct StatusMark {
  int64_t clock_ms = -1;   // newest status taken; -1: none
  int64_t will_ms = -1;    // the will the last heartbeat named; -1: none
  bool online = false;     // the last status taken was a heartbeat (not a will or goodbye)
};

enum class Freshness { kNew, kSame, kStale };

// REQUIRES: s.clock_ms is set (the ingestor rejects a status without it as malformed).
Freshness JudgeStatus(const StatusMark& mark, const DeviceStatus& s);
// The mark after taking `s` (JudgeStatus said kNew).
StatusMark NextMark(const StatusMark& mark, const DeviceStatus& s);
// True when `s` is the last will of the connection of the last heartbeat taken.
bool IsWillOf(const StatusMark& mark, const DeviceStatus& s);
// The status the hub holds when it takes a will: `heartbeat_json` (the status held before it)
// with "online" false; "" when that does not decode as a status with a clock.
std::string WillStatus(std::string_view heartbeat_json);
// The mark of a stored status text (empty or undecodable: no mark).
StatusMark MarkFromStored(std::string_view status_json);

}  // namespace cjd::hub
