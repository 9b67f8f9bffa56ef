// File modes: what cjdctl init-hub / add-device write (configs with tokens and keys, the hub's
// secret key) and what a running hub and agent create (SQLite stores with personal data and their
// -wal/-shm, key files) are readable by their owner only, whatever the umask of the shell.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/integration/fleet_fixture.h"

namespace cjd::itest {
namespace {

namespace fs = std::filesystem;

TEST(FileModes, EveryFileTheToolsHubAndAgentCreateIsOwnerOnly) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  const mode_t old = ::umask(022);  // a usual shell: without care, files come out 0644
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& agent = fleet.AddDevice("pos-1", "s1");
  FleetAgent& kiosk = fleet.AddDevice("kiosk-1", "s1", "kiosk");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(agent));
  ASSERT_TRUE(fleet.StartAgent(kiosk));
  ::umask(old);
  HttpClient client(agent.port);
  ASSERT_EQ(PostEvents(client, agent.token, MakeTransaction("s1")).status, 202);
  ASSERT_TRUE(fleet.WaitHubEventsTotal(1)) << fleet.Diagnostics();

  std::vector<fs::path> dirs = {fleet.hub_config().parent_path(), agent.config.parent_path(),
                                kiosk.config.parent_path()};
  int checked = 0;
  for (const fs::path& dir : dirs) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string name = entry.path().filename().string();
      if (name.size() > 4 && name.substr(name.size() - 4) == ".log") continue;  // the harness's
      struct stat st {};
      ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 077, 0u) << entry.path() << " has mode " << std::oct
                                      << (st.st_mode & 07777);
      ++checked;
    }
  }
  // At least: hub.toml, hub.key, hub.pub, hub.db (+ -wal), two agent configs and outboxes.
  EXPECT_GE(checked, 8);
  for (const char* name : {"hub.toml", "hub.key", "hub.db"}) {
    EXPECT_TRUE(fs::exists(fleet.hub_config().parent_path() / name)) << name;
  }
}

}  // namespace
}  // namespace cjd::itest
