// RfmSchedule: when the RFM cut points (rfm.h) are due for a recompute. Pure logic: the caller
// reports what changed and asks with its own clock.
//
// A recompute scans every customer's orders, so it is not done for every sale: the cut points
// are recomputed once the customers whose orders changed since the last computation (each
// counted once per commit) reach `refresh_percent` % of the customers scored then (at least
// one), and then at most every `min_interval_ms` while events flow, at once when the
// projection is idle. Staleness bound: the cut points were computed over a population of which
// fewer than refresh_percent % of the customers have had orders change since (plus what
// arrived within the last min_interval_ms). A sale in between is scored at once against the
// current cut points. With refresh_percent 0 every change is due (the behaviour before issue 10).
// Anonymous orders change no customer and count nothing.
#pragma once

#include <cstdint>

namespace cjd::hub {

struct RfmRefreshPolicy {
  int64_t refresh_percent = 5;     // [projection] rfm_refresh_percent
  int64_t min_interval_ms = 30'000;  // [projection] rfm_min_interval_seconds
};

class RfmSchedule {
 public:
  explicit RfmSchedule(RfmRefreshPolicy policy = {}) : policy_(policy) {}

  // `customers` more customers had their orders change in a commit.
  void OrdersChanged(int64_t customers) { pending_ += customers; }
  // The cut points were computed at `now_ms` over `customers` customers.
  void Computed(int64_t now_ms, int64_t customers) {
    pending_ = 0;
    retry_after_ms_ = 0;
    computed_ms_ = now_ms;
    customers_ = customers;
  }
  // A recompute failed at `now_ms`: what is pending stays pending, tried again after the min
  // interval (at least a second), idle or not.
  void Failed(int64_t now_ms) {
    retry_after_ms_ = now_ms + (policy_.min_interval_ms > 1000 ? policy_.min_interval_ms : 1000);
  }
  bool Due(int64_t now_ms, bool idle) const {
    if (pending_ < Threshold() || now_ms < retry_after_ms_) return false;
    return idle || now_ms - computed_ms_ >= policy_.min_interval_ms;
  }
  // Changed customers that make a recompute due (>= 1).
  int64_t Threshold() const {
    const int64_t t = (customers_ * policy_.refresh_percent + 99) / 100;
    return t < 1 ? 1 : t;
  }
  int64_t pending() const { return pending_; }

 private:
  RfmRefreshPolicy policy_;
  int64_t pending_ = 0;
  int64_t computed_ms_ = 0;
  int64_t customers_ = 0;
  int64_t retry_after_ms_ = 0;
};

}  // namespace cjd::hub
