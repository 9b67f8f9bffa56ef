#include "shared/config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace cjd {
namespace {

ConfigReader Load(std::string_view text, std::string dir = "/etc/cjd") {
  auto reader = ConfigReader::LoadString(text, std::move(dir));
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return std::move(reader).value();
}

constexpr std::string_view kSample = R"(
name = "store-17"
debug = true

[http]
listen = "127.0.0.1:8080"
threads = 4

[outbox]
path = "data/outbox.db"
absolute = "/var/lib/cjd/outbox.db"

[hub.mqtt]
broker = "[::1]:1883"
)";

TEST(ConfigReader, TypedGettersReadDottedKeys) {
  ConfigReader c = Load(kSample);
  EXPECT_EQ(c.String("name", "x"), "store-17");
  EXPECT_EQ(c.RequireString("name"), "store-17");
  EXPECT_TRUE(c.Bool("debug", false));
  EXPECT_EQ(c.Int("http.threads", 1, 1, 64), 4);
  HostPort listen = c.Address("http.listen", "0.0.0.0:1");
  EXPECT_EQ(listen.host, "127.0.0.1");
  EXPECT_EQ(listen.port, 8080);
  HostPort broker = c.Address("hub.mqtt.broker", "localhost:1883");
  EXPECT_EQ(broker.host, "::1");
  EXPECT_EQ(broker.port, 1883);
  EXPECT_TRUE(c.Has("hub.mqtt.broker"));
  EXPECT_TRUE(c.Has("hub.mqtt"));
  EXPECT_FALSE(c.Has("hub.mqtt.user"));
  EXPECT_TRUE(c.status().ok()) << c.status().ToString();
}

TEST(ConfigReader, MissingKeysGiveDefaults) {
  ConfigReader c = Load(kSample);
  EXPECT_EQ(c.String("nope", "dflt"), "dflt");
  EXPECT_EQ(c.Int("http.nope", 7, 0, 10), 7);
  EXPECT_FALSE(c.Bool("nope.deeper", false));
  HostPort a = c.Address("nope", "localhost:0");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(c.Path("nope", ""), "");
  EXPECT_TRUE(c.status().ok());
}

TEST(ConfigReader, RequiredMissingKeyIsNamed) {
  ConfigReader c = Load(kSample);
  EXPECT_EQ(c.RequireString("hub.mqtt.client_id"), "");
  EXPECT_EQ(c.status().code(), Code::kInvalid);
  EXPECT_EQ(c.status().field(), "hub.mqtt.client_id");
  EXPECT_EQ(c.status().message(), "hub.mqtt.client_id: is required");
}

TEST(ConfigReader, WrongTypesAreNamedAndGiveDefaults) {
  struct Case {
    std::string toml;
    std::function<void(ConfigReader&)> read;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"a.b = 5", [](ConfigReader& c) { EXPECT_EQ(c.String("a.b", "d"), "d"); },
       "a.b: expected a string"},
      {"a = \"x\"", [](ConfigReader& c) { EXPECT_EQ(c.Int("a", 3, 0, 9), 3); },
       "a: expected an integer"},
      {"a = 1.5", [](ConfigReader& c) { EXPECT_EQ(c.Int("a", 3, 0, 9), 3); },
       "a: expected an integer"},
      {"a = \"yes\"", [](ConfigReader& c) { EXPECT_TRUE(c.Bool("a", true)); },
       "a: expected a boolean (true or false)"},
      {"[http]\nlisten = 8080",
       [](ConfigReader& c) { EXPECT_EQ(c.Address("http.listen", "1.2.3.4:5").port, 5); },
       "http.listen: expected HOST:PORT"},
      {"[http]\nlisten = \"localhost\"",
       [](ConfigReader& c) { EXPECT_EQ(c.Address("http.listen", "1.2.3.4:5").host, "1.2.3.4"); },
       "http.listen: expected HOST:PORT"},
      {"p = [1]", [](ConfigReader& c) { EXPECT_EQ(c.Path("p", "/d"), "/d"); },
       "p: expected a string"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.toml);
    ConfigReader c = Load(tc.toml);
    tc.read(c);
    EXPECT_EQ(c.status().code(), Code::kInvalid);
    EXPECT_EQ(c.status().message(), tc.message);
  }
}

TEST(ConfigReader, IntOutOfRangeNamesKeyAndBounds) {
  ConfigReader c = Load("[http]\nthreads = 100");
  EXPECT_EQ(c.Int("http.threads", 2, 1, 64), 2);
  EXPECT_EQ(c.status().message(), "http.threads: must be between 1 and 64");
  EXPECT_EQ(c.status().field(), "http.threads");
}

TEST(ConfigReader, KeepsTheFirstError) {
  ConfigReader c = Load("a = 1\nb = 2");
  c.String("a", "");
  c.String("b", "");
  EXPECT_EQ(c.status().field(), "a");
}

TEST(ConfigReader, RelativePathsResolveAgainstDir) {
  ConfigReader c = Load(kSample, "/etc/cjd");
  EXPECT_EQ(c.Path("outbox.path", "x"), "/etc/cjd/data/outbox.db");
  EXPECT_EQ(c.Path("outbox.absolute", "x"), "/var/lib/cjd/outbox.db");
  EXPECT_EQ(c.Path("outbox.missing", "../spool/x.db"), "/etc/spool/x.db");
  EXPECT_EQ(c.Path("outbox.missing", "/abs/x.db"), "/abs/x.db");
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cjd-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, std::string_view text) {
    std::filesystem::create_directories((dir_ / name).parent_path());
    std::ofstream out(dir_ / name);
    out << text;
    return (dir_ / name).string();
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigFileTest, LoadFileResolvesPathsAgainstTheFileDirectory) {
  const std::string path = Write("conf/agent.toml", kSample);
  auto c = ConfigReader::LoadFile(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dir(), (dir_ / "conf").string());
  EXPECT_TRUE(std::filesystem::path(c->dir()).is_absolute());
  EXPECT_EQ(c->Path("outbox.path", ""), (dir_ / "conf" / "data" / "outbox.db").string());
}

TEST_F(ConfigFileTest, LoadFileWithRelativeNameGivesAbsoluteDir) {
  Write("agent.toml", kSample);
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  auto c = ConfigReader::LoadFile("agent.toml");
  std::filesystem::current_path(old);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(std::filesystem::canonical(c->dir()), std::filesystem::canonical(dir_));
}

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  const std::string path = (dir_ / "absent.toml").string();
  auto c = ConfigReader::LoadFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_EQ(c.status().message(), "cannot read config " + path);
  EXPECT_EQ(ConfigReader::LoadFile(dir_.string()).status().code(), Code::kNotFound);
}

TEST_F(ConfigFileTest, ParseErrorNamesFileLineAndColumn) {
  const std::string path = Write("bad.toml", "a = 1\n\nb = = 2\n");
  auto c = ConfigReader::LoadFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalid);
  const std::string prefix = path + ":3:";
  EXPECT_EQ(c.status().message().rfind(prefix, 0), 0u) << c.status().message();
}

TEST_F(ConfigFileTest, EmptyFileIsAnEmptyConfig) {
  auto c = ConfigReader::LoadFile(Write("empty.toml", ""));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Int("x", 5, 0, 9), 5);
}

TEST(ConfigReader, LoadStringParseErrorHasLineAndColumn) {
  auto c = ConfigReader::LoadString("x = \"unterminated\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalid);
  EXPECT_NE(c.status().message().find(":1:"), std::string::npos) << c.status().message();
}

TEST(ConfigReader, MovesKeepState) {
  ConfigReader a = Load("x = 1");
  a.String("x", "");
  ConfigReader b = std::move(a);
  EXPECT_EQ(b.status().field(), "x");
  EXPECT_EQ(b.Int("x", 0, 0, 5), 1);
}

TEST(ParseHostPort, AcceptsHostsAndBracketedIpv6) {
  struct Case {
    std::string text;
    std::string host;
    uint16_t port;
  };
  for (const Case& tc : std::vector<Case>{{"127.0.0.1:8080", "127.0.0.1", 8080},
                                          {"localhost:0", "localhost", 0},
                                          {"[::1]:9000", "::1", 9000},
                                          {"[fe80::1%eth0]:1", "fe80::1%eth0", 1},
                                          {"0.0.0.0:65535", "0.0.0.0", 65535},
                                          {"hub.example.com:00443", "hub.example.com", 443}}) {
    SCOPED_TRACE(tc.text);
    auto hp = ParseHostPort(tc.text);
    ASSERT_TRUE(hp.ok()) << hp.status().ToString();
    EXPECT_EQ(hp->host, tc.host);
    EXPECT_EQ(hp->port, tc.port);
  }
}

TEST(ParseHostPort, RejectsMalformedAddresses) {
  for (const char* text : {"", "localhost", ":80", "host:", "host:65536", "host:-1", "host:8o",
                           "host: 80", "::1:80", "[::1]", "[::1]80", "[::1:80", "[]:80",
                           "host:123456", "host:+80"}) {
    SCOPED_TRACE(text);
    auto hp = ParseHostPort(text);
    ASSERT_FALSE(hp.ok());
    EXPECT_EQ(hp.status().code(), Code::kInvalid);
  }
}

TEST(HostPort, ToStringBracketsIpv6) {
  EXPECT_EQ((HostPort{"127.0.0.1", 80}).ToString(), "127.0.0.1:80");
  EXPECT_EQ((HostPort{"::1", 9000}).ToString(), "[::1]:9000");
  auto round = ParseHostPort(HostPort{"::", 1}.ToString());
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->host, "::");
}

}  // namespace
}  // namespace cjd
