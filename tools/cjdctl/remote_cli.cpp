#include "tools/cjdctl/remote_cli.h"

#include <iostream>

namespace cjd::ctl {

RemoteCommands::RemoteCommands(CLI::App& app) {
  ImportCommandOptions& im = import_options_;
  import_ = app.add_subcommand(
      "import", "import order files (.csv, .csv.gz) into the hub as order_completed events");
  import_->add_option("files", im.files, "order files, read in the order given")->required();
  import_->add_option("--hub", im.hub, "hub URL, http://HOST:PORT")->required();
  import_->add_option("--token", im.token, "source key (from `cjdctl add-source`)")->required();
  import_->add_option("--map", im.map,
                      "FIELD=COLUMN,... (fields: order_id, customer_id, loyalty_id, email, phone, "
                      "occurred_at, sku, description, quantity, unit_price, store_id, country, "
                      "category, currency, channel)")
      ->required();
  import_->add_option("--currency", im.currency, "ISO 4217 code, unless currency is mapped");
  import_->add_option("--timezone", im.timezone,
                      "time zone of date-times without an offset, e.g. Europe/London");
  import_->add_option("--source", im.source, "source name: event ids and the default store_id")
      ->capture_default_str();
  import_->add_option("--batch-events", im.batch_events, "events per request (1..10000)")
      ->capture_default_str();
  import_->add_option("--batch-bytes", im.batch_bytes, "bytes per request, at most")
      ->capture_default_str();
  import_->add_option("--parallel", im.parallel, "requests in flight (1..4)")
      ->capture_default_str();
  import_->add_option("--retries", retry_attempts_,
                      "attempts per request on connection errors, 5xx and 429 (with backoff, "
                      "at most 30 s in all)")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  import_->add_option("--timeout", timeout_s_, "seconds to wait for one answer")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  import_->add_flag("--quiet,-q", im.quiet, "no progress lines on stderr");

  ReportOptions& re = report_options_;
  report_ = app.add_subcommand("report", "print the hub's customer metrics (GET /v1/metrics)");
  report_->add_option("--hub", re.hub, "hub URL, http://HOST:PORT")->required();
  report_->add_option("--token", re.token, "the hub's admin token")->required();
  report_->add_option("--from", re.from, "first day or month, YYYY-MM-DD or YYYY-MM (inclusive)");
  report_->add_option("--to", re.to, "end day or month, YYYY-MM-DD or YYYY-MM (exclusive)");
  report_->add_option("--store", re.store, "only this store");
  report_->add_option("--channel", re.channel, "only this channel (store, web, ...)");
  report_->add_option("--currency", re.currency, "only this currency");
  report_->add_option("--top", re.top, "number of top customers")->check(CLI::Range(1, 1000));
  report_->add_flag("--json", re.json, "print the hub's JSON unchanged");
}

bool RemoteCommands::Selected() const { return import_->parsed() || report_->parsed(); }

int RemoteCommands::Run() const {
  if (import_->parsed()) {
    ImportCommandOptions o = import_options_;
    o.retry.max_attempts = retry_attempts_;
    o.request_timeout = std::chrono::seconds(timeout_s_);
    return RunImport(o, std::cout, std::cerr);
  }
  if (report_->parsed()) return RunReport(report_options_, std::cout, std::cerr);
  return 2;
}

}  // namespace cjd::ctl
