// Facts of a profile read from the projection's tables (hub/projection/profile_facts.h) rather
// than through the GET /v1/profiles document: FactsFromRow gives the very ProfileFacts that
// FactsFromProfileJson gives for that profile's document (tests/hub/segments compare them),
// for the fields that were read. NeedsOf says which groups a set of rules reads, so a segment
// engine whose rules only read RFM scores reads only the profile row and its order figures.
// Part of cjd_hub_lib (it uses the projection's types); the rule language stays pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/predictions/predictor.h"
#include "hub/projection/profile_facts.h"
#include "hub/segments/facts.h"

namespace cjd::hub::segments {

// The groups of facts rules reading `fields` (Rule::Fields() of each, any order) need.
ProfileFactsNeeds NeedsOf(const std::vector<std::string>& fields);

// The facts of `row`, with days_since_last_order counted at `now_ms`. Groups `needs` left out
// are not set (read as null): only rules that do not read them may be evaluated on the result.
ProfileFacts FactsFromRow(const ProfileFactsRow& row, const ProfileFactsNeeds& needs,
                          int64_t now_ms);

// Sets the prediction fields (p_alive, churn_risk, expected_purchase_days_{N}d,
// predicted_clv_{N}d for N = `horizon_days`) from a stored score, with the values the profile
// document shows (PredictionTraits): null when there is none, or it is for another horizon.
void AddPredictionFacts(const std::optional<predictions::PredictionReader::Entry>& entry,
                        int horizon_days, ProfileFacts* facts);

}  // namespace cjd::hub::segments
