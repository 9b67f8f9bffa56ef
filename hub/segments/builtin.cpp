#include "hub/segments/builtin.h"

#include <array>

namespace cjd::hub::segments {
namespace {

constexpr std::array kBuiltins = {
    BuiltinSegment{"champions", "Champions",
                   "rfm.recency >= 4 and rfm.frequency >= 4 and rfm.monetary >= 4",
                   "bought recently, buy often and spend the most"},
    BuiltinSegment{"loyal", "Loyal customers", "rfm.frequency >= 4 and rfm.recency >= 3",
                   "buy often and not long ago"},
    BuiltinSegment{"new", "New customers", "rfm.recency >= 4 and rfm.frequency <= 1",
                   "bought recently for the first time (or almost)"},
    BuiltinSegment{"at_risk", "At risk", "rfm.recency <= 2 and rfm.frequency >= 3",
                   "used to buy often, but not for a long time"},
    BuiltinSegment{"hibernating", "Hibernating", "rfm.recency <= 2 and rfm.frequency <= 2",
                   "last bought long ago, and rarely"},
    BuiltinSegment{"needs_attention", "Needs attention", "rfm.recency = 3 and rfm.frequency <= 3",
                   "average recency and frequency: slipping unless reactivated"},
};

}  // namespace

std::span<const BuiltinSegment> BuiltinSegments() { return kBuiltins; }

}  // namespace cjd::hub::segments
