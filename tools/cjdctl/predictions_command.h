// `cjdctl predictions export`: every customer's purchase and CLV prediction from the hub, paged
// through GET /v1/predictions (admin token).
//
//   predictions export --hub URL --token T [--as-of YYYY-MM-DD] [--horizon-days N]
//                      --format csv|jsonl [--out FILE] [--page-size N]
//
// --as-of and --horizon-days are sent only when given (as_of, horizon_days); else the hub uses its
// defaults (as_of tomorrow, so today's purchases count; horizon its [predictions] horizon_days).
// Customers come in ascending profile id, `--page-size` per request (limit; after = next_after).
//
// csv: the header
//   profile_id,identifiers,purchase_days,recency_days,age_days,expected_purchase_days,p_alive,churn_risk,predicted_clv
// then one line per customer. identifiers is one field, `type:value` joined with ';'
// ("email:a@b.co;loyalty_id:L-7"); numbers as the hub's JSON numbers (they round-trip); null is an
// empty field; predicted_clv is the hub's decimal string. A field holding a comma, a double quote,
// CR or LF is quoted (RFC 4180, quotes doubled). Lines end in LF.
// jsonl: each customer object as the hub sent it (members in its order, compact), one per line.
//
// The output starts only once the hub has answered; with --out it goes to FILE.part, renamed to
// FILE at the end, so a failed export leaves no file. Every page must come from the same fit: its
// as_of, horizon_days, currency, model, spend_model and correction must equal the first page's,
// else the export fails (the hub refitted meanwhile: run it again). At the end a summary goes to
// stderr (also without --out):
//   cjdctl predictions export: 2787 customers written to FILE|stdout (customers_total 2787;
//     as_of 2011-06-09, horizon_days 184, currency GBP)           <- one line
//   cjdctl predictions export: model bg_nbd, fit ok, params r=0.24 alpha=4.4 a=0.79 b=2.4,
//     log_likelihood -9582.4                                      <- one line
//   cjdctl predictions export: spend_model gamma_gamma, fit ok, params p=.. q=.. v=..,
//     log_likelihood ...                                          <- one line; "spend_model none"
//                                                                    when the hub sent null
// and, when a model's fit is not "ok", a line "warning: the model's fit is degenerate: ...".
// Exit codes: 0 done; 1 the hub answered non-2xx (its error is printed), could not be reached,
// sent something unexpected or pages of different fits, or the output could not be written;
// 2 usage errors (the message names the flag).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

namespace cjd::ctl {

struct PredictionsOptions {
  std::string hub;         // http://HOST:PORT
  std::string token;       // the hub's admin token
  std::string token_file;  // --token-file (resolved by the CLI layer, token_option.h)
  int timeout_ms = 300'000;  // per request; the first page may make the hub fit its model
  std::string as_of;                // YYYY-MM-DD; empty: not sent (the hub's default)
  std::optional<int> horizon_days;  // 1..3650; none: not sent (the hub's default)
  std::string format;               // "csv" or "jsonl"
  std::string out;                  // empty: stdout
  int page_size = 1000;             // 1..10000
};

int RunPredictionsExport(const PredictionsOptions& options, std::ostream& out, std::ostream& err);

// The csv header line, without its LF.
inline constexpr const char* kPredictionsCsvHeader =
    "profile_id,identifiers,purchase_days,recency_days,age_days,expected_purchase_days,p_alive,"
    "churn_risk,predicted_clv";

// True when `date` is YYYY-MM-DD and a real day (month 01..12, day within the month, leap years).
bool ValidIsoDate(const std::string& date);

}  // namespace cjd::ctl
