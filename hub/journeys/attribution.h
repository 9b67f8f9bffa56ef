// Revenue attribution of orders to marketing touchpoints, exact to the cent: the rule-based
// models (first touch, last touch, linear, time decay, position-based) and the data-driven
// first-order Markov model with removal effects (Anderl et al. 2016, as the ChannelAttribution R
// package computes it). Pure computation over journeys the caller has assembled: no storage, no
// clock.
//
// Cents: a conversion's revenue is split among its touches (the Markov model: the total revenue
// among channels) by largest remainder, so the parts are integers summing exactly to the whole:
// each part is floored, then the cents left over go one by one to the largest fractional
// remainders (ties, compared at 1e-9 of a cent: the earlier touch, or for Markov the channel
// first in name order). Within one result, the channel cents always sum exactly to
// total_revenue_cents.
//
// Choices a caller must know:
//  - A journey without touches is never attributed: a converted one adds its revenue to
//    unattributed_revenue_cents (not to total_revenue_cents), for every model, and the Markov
//    graph leaves it out.
//  - `channels` lists every channel seen in any journey's touches (converted or not), in byte
//    order of the name, with 0 when it got no credit.
//  - `conversions` counts every converted journey, with or without touches, and `journeys` every
//    journey; the channels' conversion credits sum to the converted journeys WITH touches.
//  - The rule-based models do not collapse repeated channels: "web, web, email" linear gives
//    web 2/3. The Markov model collapses consecutive repeats into one state, as specified.
//  - Time decay: touches at the same instant get the same weight; weights are computed relative
//    to the journey's last touch, so very old touches never make every weight underflow.
//  - Position-based: 1 touch 100%; 2 touches 50/50 whatever the shares; 3 or more: first_share,
//    last_share and the rest split equally among the middle touches.
//  - Options are validated whichever model is asked for (half_life_days finite and > 0; each
//    share finite in [0, 1], their sum <= 1 + 1e-12; markov_order == 1).
//  - Markov: P(conversion) is solved exactly (Gaussian elimination with partial pivoting on the
//    transient channel states, once plus once per removed channel: O(channels^4), meant for
//    tens of channels). A removal effect is 1 - P_without / P, clamped to [0, 1] with values
//    below 1e-12 set to 0 (it can only be >= 0 in exact arithmetic). Channel shares are removal
//    effect / sum; conversions credit = (converted journeys with touches) × share.
//    Degenerate case: when P == 0 (no converted journey has a touch) or every removal effect is
//    0 (not reachable when P > 0 in exact arithmetic), every channel gets 0 cents and 0
//    conversions, and whatever revenue total_revenue_cents would hold is moved to
//    unattributed_revenue_cents (total_revenue_cents becomes 0), so the sums above still hold.
//    removal_effects then holds the effects as computed (all 0 when P == 0).
//  - Bad input is refused with Status::Invalid naming the field ("journeys[3].touches[1].at_ms",
//    "journeys[0].revenue_cents", "half_life_days"...): an empty channel; a touch earlier than
//    the one before it (equal times are fine); for a converted journey a touch after
//    converted_at_ms (at the same instant is fine) or a negative revenue; a total revenue that
//    overflows int64. revenue_cents and converted_at_ms of a non-converted journey are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/core/status.h"

namespace cjd::hub::journeys {

struct Touch {
  int64_t at_ms = 0;
  std::string channel;  // e.g. "web", "email", "store", "kiosk_offer"; not empty
};

// One person's path up to one conversion, or a path that never converted.
struct Journey {
  std::vector<Touch> touches;   // sorted by at_ms; the caller keeps only the lookback window
  int64_t converted_at_ms = 0;  // time of the order; ignored when !converted
  bool converted = false;
  int64_t revenue_cents = 0;    // order revenue in minor units (converted only), may be 0
};

enum class Model { kFirstTouch, kLastTouch, kLinear, kTimeDecay, kPositionBased, kMarkov };

struct AttributionOptions {
  double half_life_days = 7;                    // time decay: 2^(-(converted_at - at)/half_life)
  double first_share = 0.4, last_share = 0.4;   // position-based (U-shaped)
  int markov_order = 1;                         // only 1 is supported
};

struct ChannelCredit {
  std::string channel;
  int64_t revenue_cents = 0;
  double conversions = 0;  // fractional credit of conversions
};

struct AttributionResult {
  std::vector<ChannelCredit> channels;  // sorted by channel name
  int64_t total_revenue_cents = 0;      // revenue of converted journeys with >= 1 touch
  int64_t unattributed_revenue_cents = 0;  // revenue of converted journeys without a touch
  int64_t conversions = 0;              // converted journeys (with or without touches)
  int64_t journeys = 0;                 // all journeys
  // Markov only (empty otherwise): the removal effect of each channel, the fraction of the
  // conversion probability lost when the channel is removed; sorted by channel name.
  std::vector<std::pair<std::string, double>> removal_effects;
};

Result<AttributionResult> Attribute(Model model, const std::vector<Journey>& journeys,
                                    const AttributionOptions& opt = {});

// "first_touch", "last_touch", "linear", "time_decay", "position_based", "markov" (exact,
// case-sensitive); nullopt for anything else.
std::optional<Model> ModelFromName(std::string_view name);
std::string_view ModelName(Model model);

// The largest-remainder split used above, exposed for tests and callers: `total` (>= 0) split
// in proportion to `weights` (each >= 0, finite, at least one > 0) into non-negative integers
// summing exactly to `total`; ties go to the lower index. Weights need not sum to 1. Only a
// weight > 0 ever receives a cent. An empty result when the preconditions do not hold.
std::vector<int64_t> SplitLargestRemainder(int64_t total, const std::vector<double>& weights);

}  // namespace cjd::hub::journeys
