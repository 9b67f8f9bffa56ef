// cjdctl against a real cjd-hub: the admin token from --token, --token-file or CJD_TOKEN, and a
// clear usage error (exit 2) naming all three when none is given.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"

namespace cjd::itest {
namespace {

using cjd::testing::CjdctlBinary;
using cjd::testing::RunCommand;

class CjdctlToken : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    fleet_.StartHub();
    hub_ = "http://127.0.0.1:" + std::to_string(fleet_.hub_port());
  }

  // `cjdctl segments list --hub URL` plus `extra`, with `env` added to the environment.
  int List(std::vector<std::string> extra, const cjd::testing::Process::Env& env,
           std::string* output) {
    std::vector<std::string> argv = {CjdctlBinary(), "segments", "list", "--hub", hub_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, 60s, output, env);
  }

  Fleet fleet_;
  std::string hub_;
};

TEST_F(CjdctlToken, TakesTheTokenFromTheFlagTheFileOrTheEnvironment) {
  std::string out;
  EXPECT_EQ(List({"--token", fleet_.hub_token()}, {}, &out), 0) << out;

  EXPECT_EQ(List({}, {{"CJD_TOKEN", fleet_.hub_token()}}, &out), 0) << out;

  const std::string file = fleet_.dir().Join("admin.token").string();
  std::ofstream(file) << fleet_.hub_token() << "\n";
  chmod(file.c_str(), 0600);
  EXPECT_EQ(List({"--token-file", file}, {{"CJD_TOKEN", "wrong-token"}}, &out), 0) << out;
  EXPECT_EQ(out.find("warning"), std::string::npos) << out;

  // A wrong token from the environment reaches the hub and is refused there.
  EXPECT_EQ(List({}, {{"CJD_TOKEN", "wrong-token"}}, &out), 1) << out;
  EXPECT_NE(out.find("admin token"), std::string::npos) << out;
}

TEST_F(CjdctlToken, NoTokenIsAUsageErrorNamingTheWays) {
  std::string out;
  EXPECT_EQ(List({}, {}, &out), 2) << out;
  EXPECT_NE(out.find("--token-file"), std::string::npos) << out;
  EXPECT_NE(out.find("CJD_TOKEN"), std::string::npos) << out;
  EXPECT_EQ(List({"--token-file", fleet_.dir().Join("absent").string()}, {}, &out), 2) << out;
  EXPECT_NE(out.find("absent"), std::string::npos) << out;
}

}  // namespace
}  // namespace cjd::itest
