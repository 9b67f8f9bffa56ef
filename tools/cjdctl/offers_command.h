// `cjdctl offers ...`: manage the hub's offers (POST/GET/DELETE /v1/offers) from a shell.
//
//   cjdctl offers list   --hub URL --token T [--include-deleted] [--json]
//   cjdctl offers put    FILE|- --hub URL --token T        (FILE: the JSON body of POST /v1/offers)
//   cjdctl offers create --hub URL --token T --id ID --title TEXT --segment SEG
//                        --valid-from T --valid-until T [--text TEXT] [--store ID ...]
//                        [--priority N] [--max-per-customer N] [--requires-consent]
//   cjdctl offers get    ID --hub URL --token T
//   cjdctl offers delete ID --hub URL --token T
//   cjdctl offers stats  ID --hub URL --token T [--json]
//
// list prints one aligned row per offer; get prints the offer's JSON; put/create/delete print one
// line saying what the hub did; stats prints impressions, redemptions, rate and revenue.
// Exit codes: 0 done; 1 the hub answered non-2xx (its error, naming the field, is printed) or
// could not be reached; 2 usage errors (bad flags, unreadable or non-JSON FILE).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace cjd::ctl {

struct OffersOptions {
  std::string hub;
  std::string token;
  std::string token_file;  // --token-file (token_option.h)
  bool json = false;
  bool include_deleted = false;
  std::string id;    // get, delete, stats, create
  std::string file;  // put
  // create
  std::string title, text, segment, valid_from, valid_until;
  std::vector<std::string> stores;
  long long priority = 0;
  long long max_per_customer = 0;
  bool requires_consent = false;
  int timeout_ms = 30'000;
};

class OffersCommand {
 public:
  // Adds `offers` and its subcommands to `app`, which must outlive this object.
  explicit OffersCommand(CLI::App& app);
  bool Selected() const;
  int Run(std::istream& in, std::ostream& out, std::ostream& err) const;

 private:
  CLI::App* offers_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* put_ = nullptr;
  CLI::App* create_ = nullptr;
  CLI::App* get_ = nullptr;
  CLI::App* delete_ = nullptr;
  CLI::App* stats_ = nullptr;
  OffersOptions o_;
};

}  // namespace cjd::ctl
