#include "tools/cjdctl/remote_cli.h"

#include <iostream>

#include "tools/cjdctl/token_option.h"

namespace cjd::ctl {

RemoteCommands::RemoteCommands(CLI::App& app) {
  ImportCommandOptions& im = import_options_;
  import_ = app.add_subcommand(
      "import", "import order files (.csv, .csv.gz) into the hub as order_completed events");
  import_->add_option("files", im.files, "order files, read in the order given")->required();
  import_->add_option("--hub", im.hub, "hub URL, http://HOST:PORT")->required();
  AddTokenOptions(import_, &im.token, &im.token_file, "the source key (from `cjdctl add-source`)");
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
  // Not required here: `report web` has its own (RunReport says when it is missing).
  report_->add_option("--hub", re.hub, "hub URL, http://HOST:PORT");
  AddTokenOptions(report_, &re.token, &re.token_file, "the hub's admin token");
  report_->add_option("--from", re.from, "first day or month, YYYY-MM-DD or YYYY-MM (inclusive)");
  report_->add_option("--to", re.to, "end day or month, YYYY-MM-DD or YYYY-MM (exclusive)");
  report_->add_option("--store", re.store, "only this store");
  report_->add_option("--channel", re.channel, "only this channel (store, web, ...)");
  report_->add_option("--currency", re.currency, "only this currency");
  report_->add_option("--top", re.top, "number of top customers")->check(CLI::Range(1, 1000));
  report_->add_flag("--json", re.json, "print the hub's JSON unchanged");
  report_->require_subcommand(0, 1);
  WebReportOptions& we = web_options_;
  report_web_ = report_->add_subcommand(
      "web", "print the web and commerce metrics (GET /v1/metrics/web) and their daily series");
  report_web_->add_option("--hub", we.hub, "hub URL, http://HOST:PORT")->required();
  AddTokenOptions(report_web_, &we.token, &we.token_file, "an admin or analyst token");
  report_web_->add_option("--from", we.from, "first day or month (inclusive)");
  report_web_->add_option("--to", we.to, "end day or month (exclusive)");
  report_web_->add_option("--channel", we.channel, "only this channel");
  report_web_->add_option("--store", we.store, "only this store");
  report_web_->add_option("--segment", we.segment, "only this segment's members");
  report_web_->add_flag("--json", we.json, "print the hub's JSON unchanged");

  FunnelOptions& fu = funnel_options_;
  funnel_ = app.add_subcommand("funnel", "ask a funnel (POST /v1/funnels/query), print a table");
  funnel_->add_option("--hub", fu.hub, "hub URL, http://HOST:PORT")->required();
  AddTokenOptions(funnel_, &fu.token, &fu.token_file, "an admin or analyst token");
  funnel_->add_option("--step", fu.steps,
                      "a step, in order: TYPE or TYPE:KEY=VALUE,... (keys: sku, category, url, "
                      "store_id, channel, or an event property)")
      ->required();
  funnel_->add_option("--order", fu.order, "sequential (default), strict or any");
  funnel_->add_option("--window-days", fu.window_days, "every step within N days of the first")
      ->check(CLI::Range(1, 366));
  funnel_->add_option("--count-by", fu.count_by, "person (default) or session");
  funnel_->add_option("--from", fu.from, "first step on or after this day (YYYY-MM-DD)");
  funnel_->add_option("--to", fu.to, "first step before this day (YYYY-MM-DD)");
  funnel_->add_option("--breakdown", fu.breakdown, "channel, store or segment");
  funnel_->add_option("--segment", fu.segment, "only this segment's members");
  funnel_->add_flag("--json", fu.json, "print the hub's JSON unchanged");

  SegmentsOptions& se = segments_options_;
  segments_ = app.add_subcommand("segments", "list, create and export the hub's segments");
  segments_->require_subcommand(1);
  const auto remote_flags = [&](CLI::App* cmd) {
    cmd->add_option("--hub", se.hub, "hub URL, http://HOST:PORT")->required();
    AddTokenOptions(cmd, &se.token, &se.token_file, "the hub's admin token");
  };
  segments_list_ = segments_->add_subcommand("list", "every segment with its member count");
  remote_flags(segments_list_);
  segments_list_->add_flag("--json", se.json, "print the hub's JSON unchanged");
  segments_create_ =
      segments_->add_subcommand("create", "create a segment, or replace its rule");
  segments_create_->add_option("id", se.id, "segment id: 1-64 of a-z, 0-9, _ and -")->required();
  segments_create_->add_option("rule", se.rule, "the rule, e.g. 'orders >= 2'")->required();
  segments_create_->add_option("--name", se.name, "display name (default: the id)");
  segments_create_->add_option("--description", se.description, "what the segment is for");
  remote_flags(segments_create_);
  segments_export_ = segments_->add_subcommand(
      "export", "write every member (profile_id, segment, since; no PII) as csv or jsonl");
  segments_export_->add_option("id", se.id, "segment id")->required();
  segments_export_->add_option("--format", se.format, "csv or jsonl")->required();
  segments_export_->add_option("--out", se.out, "write to this file (default: stdout)");
  segments_export_->add_option("--page-size", se.page_size, "members per request (1..10000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000));
  remote_flags(segments_export_);

  PredictionsOptions& pr = predictions_options_;
  predictions_ = app.add_subcommand(
      "predictions", "the hub's purchase, churn and CLV predictions per customer");
  predictions_->require_subcommand(1);
  predictions_export_ = predictions_->add_subcommand(
      "export",
      "write every customer's prediction (with identifiers: PII) as csv or jsonl, paged through "
      "GET /v1/predictions; the fit is summarised on stderr");
  predictions_export_->add_option("--hub", pr.hub, "hub URL, http://HOST:PORT")->required();
  AddTokenOptions(predictions_export_, &pr.token, &pr.token_file, "the hub's admin token");
  predictions_export_->add_option(
      "--as-of", pr.as_of,
      "predict from this day, YYYY-MM-DD (purchases before it count; default: the hub's, "
      "tomorrow)");
  predictions_export_->add_option_function<int>(
      "--horizon-days", [this](const int& days) { predictions_options_.horizon_days = days; },
      "days ahead to predict (1..3650; default: the hub's [predictions] horizon_days)");
  predictions_export_->add_option("--format", pr.format, "csv or jsonl")->required();
  predictions_export_->add_option("--out", pr.out, "write to this file (default: stdout)");
  predictions_export_->add_option("--page-size", pr.page_size, "customers per request (1..10000)")
      ->capture_default_str();
}

bool RemoteCommands::Selected() const {
  return import_->parsed() || report_->parsed() || funnel_->parsed() || segments_->parsed() ||
         predictions_->parsed();
}

namespace {

// --token, else --token-file, else $CJD_TOKEN (token_option.h); false after printing the error.
bool Resolve(const char* command, std::string* token, const std::string& token_file) {
  const Status st = ResolveToken(token, token_file, std::cerr);
  if (st.ok()) return true;
  std::cerr << "cjdctl " << command << ": " << st.message() << '\n';
  return false;
}

}  // namespace

int RemoteCommands::Run() const {
  if (import_->parsed()) {
    ImportCommandOptions o = import_options_;
    if (!Resolve("import", &o.token, o.token_file)) return 2;
    o.retry.max_attempts = retry_attempts_;
    o.request_timeout = std::chrono::seconds(timeout_s_);
    return RunImport(o, std::cout, std::cerr);
  }
  if (report_web_->parsed()) {
    WebReportOptions o = web_options_;
    if (!Resolve("report web", &o.token, o.token_file)) return 2;
    return RunWebReport(o, std::cout, std::cerr);
  }
  if (funnel_->parsed()) {
    FunnelOptions o = funnel_options_;
    if (!Resolve("funnel", &o.token, o.token_file)) return 2;
    return RunFunnel(o, std::cout, std::cerr);
  }
  if (report_->parsed()) {
    ReportOptions o = report_options_;
    if (!Resolve("report", &o.token, o.token_file)) return 2;
    return RunReport(o, std::cout, std::cerr);
  }
  if (predictions_->parsed()) {
    PredictionsOptions o = predictions_options_;
    if (!Resolve("predictions export", &o.token, o.token_file)) return 2;
    return RunPredictionsExport(o, std::cout, std::cerr);
  }
  SegmentsOptions o = segments_options_;
  if (!Resolve("segments", &o.token, o.token_file)) return 2;
  if (segments_list_->parsed()) return RunSegmentsList(o, std::cout, std::cerr);
  if (segments_create_->parsed()) return RunSegmentsCreate(o, std::cout, std::cerr);
  if (segments_export_->parsed()) return RunSegmentsExport(o, std::cout, std::cerr);
  return 2;
}

}  // namespace cjd::ctl
