// Logging set-up for the programs: spdlog to stderr with a program name; level by name.
#pragma once

#include <string_view>

#include "shared/core/status.h"

namespace cjd {

// level: trace, debug, info, warn, error, off. Fails naming the bad level.
Status SetupLogging(std::string_view program, std::string_view level);

}  // namespace cjd
