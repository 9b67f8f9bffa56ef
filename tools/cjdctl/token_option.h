// Where the subcommands that talk to a hub (import, report, segments, offers) get their token,
// first found wins:
//   --token TOKEN         on the command line (visible to every local user in `ps`);
//   --token-file PATH     the file's first line (keep it readable by its owner only: cjdctl warns
//                         on stderr when group or others may read it);
//   CJD_TOKEN             the environment variable.
#pragma once

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

#include "shared/core/status.h"

namespace cjd::ctl {

inline constexpr const char* kTokenEnv = "CJD_TOKEN";
inline constexpr const char* kHubCaEnv = "CJD_HUB_CA";

// Adds --token (into *token) and --token-file (into *token_file) to `cmd`; `what` describes the
// token ("the hub's admin token"). Neither is required: see ResolveToken. Also --hub-ca FILE
// (or $CJD_HUB_CA): the CA that a --hub https://... server's certificate must chain to.
void AddTokenOptions(CLI::App* cmd, std::string* token, std::string* token_file,
                     const std::string& what);

// After parsing: when *token is empty, fills it from `token_file` (if given) or else from
// $CJD_TOKEN. Leaves it empty when neither gives one (the command reports it). Fails (kInvalid,
// field --token-file) when the file cannot be read or its first line is empty; warns on `warn`
// when the file is readable by group or others.
Status ResolveToken(std::string* token, const std::string& token_file, std::ostream& warn);

}  // namespace cjd::ctl
