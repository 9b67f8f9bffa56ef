// cjd-hub: the central hub. Thin main: parse flags, load the config, run until SIGTERM.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "hub/config/hub_config.h"
#include "hub/hub.h"
#include "shared/core/logging.h"
#include "shared/core/private_files.h"
#include "shared/core/signals.h"
#include "shared/storage/memory_report.h"

int main(int argc, char** argv) {
  // Everything this process creates (event store, profiles, keys) is for its owner only.
  cjd::RestrictFileCreation();
  CLI::App app{"cjd-hub: receives store events, keeps the fleet's state, serves the API"};
  std::string config_path;
  app.add_option("--config", config_path, "hub config (TOML), written by cjdctl init-hub")->required();
  app.set_version_flag("--version", CJD_VERSION);
  CLI11_PARSE(app, argc, argv);

  auto config = cjd::hub::LoadHubConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "cjd-hub: config %s: %s\n", config_path.c_str(),
                 config.status().message().c_str());
    return 2;
  }
  if (auto st = cjd::SetupLogging("cjd-hub", config->log_level); !st.ok()) {
    std::fprintf(stderr, "cjd-hub: config %s: %s\n", config_path.c_str(), st.message().c_str());
    return 2;
  }
  // Before any SQLite use. SQLite's own memory accounting (one process-wide lock per allocation)
  // is what a configured bound on its memory needs; without one, per-thread counters.
  if (config->sqlite_memory_mib == 0) cjd::CountSqliteMemoryPerThread();
  cjd::BlockTerminationSignals();
  cjd::hub::Hub hub(std::move(*config));
  if (auto st = hub.Start(); !st.ok()) {
    std::fprintf(stderr, "cjd-hub: cannot start: %s\n", st.ToString().c_str());
    return 1;
  }
  const int sig = cjd::WaitForTerminationSignal();
  spdlog::info("signal {} received, shutting down", sig);
  hub.Stop();
  spdlog::info("stopped cleanly");
  return 0;
}
