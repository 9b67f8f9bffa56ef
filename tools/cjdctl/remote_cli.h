// The command-line wiring (CLI11) of the subcommands that talk to a running hub: `import`,
// `report` (and `report web`), `funnel`, `segments` and `predictions`. main.cpp creates one RemoteCommands before parsing and runs it if one was chosen.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/cjdctl/import_command.h"
#include "tools/cjdctl/journeys_command.h"
#include "tools/cjdctl/predictions_command.h"
#include "tools/cjdctl/report_command.h"
#include "tools/cjdctl/segments_command.h"

namespace cjd::ctl {

class RemoteCommands {
 public:
  // Adds the subcommands to `app`, which must outlive this object.
  explicit RemoteCommands(CLI::App& app);
  // True when the parsed command line chose one of them.
  bool Selected() const;
  // Runs the chosen one on stdout/stderr; returns the exit code.
  int Run() const;

 private:
  CLI::App* import_ = nullptr;
  CLI::App* report_ = nullptr;
  ImportCommandOptions import_options_;
  ReportOptions report_options_;
  CLI::App* report_web_ = nullptr;
  WebReportOptions web_options_;
  CLI::App* funnel_ = nullptr;
  FunnelOptions funnel_options_;
  CLI::App* segments_ = nullptr;
  CLI::App* segments_list_ = nullptr;
  CLI::App* segments_create_ = nullptr;
  CLI::App* segments_export_ = nullptr;
  SegmentsOptions segments_options_;
  CLI::App* predictions_ = nullptr;
  CLI::App* predictions_export_ = nullptr;
  PredictionsOptions predictions_options_;
  int retry_attempts_ = 6;
  int timeout_s_ = 60;
};

}  // namespace cjd::ctl
