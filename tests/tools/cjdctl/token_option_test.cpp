// Where cjdctl's hub commands take their token from: --token, --token-file, CJD_TOKEN.
#include "tools/cjdctl/token_option.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace cjd::ctl {
namespace {

using cjd::testing::TempDir;

// Sets CJD_TOKEN for the test's duration (or unsets it with nullptr).
class EnvToken {
 public:
  explicit EnvToken(const char* value) {
    if (value != nullptr) {
      setenv(kTokenEnv, value, 1);
    } else {
      unsetenv(kTokenEnv);
    }
  }
  ~EnvToken() { unsetenv(kTokenEnv); }
};

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& text,
                      mode_t mode) {
  const std::string path = dir.Join(name).string();
  std::ofstream(path, std::ios::binary) << text;
  chmod(path.c_str(), mode);
  return path;
}

TEST(TokenOption, TheCommandLineTokenWins) {
  TempDir dir;
  EnvToken env("from-env");
  std::string token = "from-flag";
  std::ostringstream warn;
  ASSERT_TRUE(ResolveToken(&token, WriteFile(dir, "t", "from-file\n", 0600), warn).ok());
  EXPECT_EQ(token, "from-flag");
  EXPECT_EQ(warn.str(), "");
}

TEST(TokenOption, TheFileComesBeforeTheEnvironment) {
  TempDir dir;
  EnvToken env("from-env");
  std::string token;
  std::ostringstream warn;
  ASSERT_TRUE(ResolveToken(&token, WriteFile(dir, "t", "from-file \r\nsecond line\n", 0600), warn)
                  .ok());
  EXPECT_EQ(token, "from-file");
  EXPECT_EQ(warn.str(), "");
}

TEST(TokenOption, TheEnvironmentIsTheLastResort) {
  std::string token;
  std::ostringstream warn;
  {
    EnvToken env("from-env");
    ASSERT_TRUE(ResolveToken(&token, "", warn).ok());
    EXPECT_EQ(token, "from-env");
  }
  token.clear();
  EnvToken none(nullptr);
  ASSERT_TRUE(ResolveToken(&token, "", warn).ok());
  EXPECT_EQ(token, "");  // the command says which options it needs
}

TEST(TokenOption, AMissingOrEmptyFileIsAnErrorNamingIt) {
  TempDir dir;
  EnvToken env("from-env");
  std::ostringstream warn;
  std::string token;
  const std::string missing = dir.Join("absent").string();
  Status st = ResolveToken(&token, missing, warn);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.field(), "--token-file");
  EXPECT_NE(st.message().find(missing), std::string::npos) << st.message();
  EXPECT_EQ(token, "");  // no fallback to the environment when a file was named
  const std::string empty = WriteFile(dir, "empty", "\n", 0600);
  st = ResolveToken(&token, empty, warn);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no token"), std::string::npos) << st.message();
}

TEST(TokenOption, WarnsWhenOthersMayReadTheFile) {
  TempDir dir;
  std::string token;
  std::ostringstream warn;
  const std::string path = WriteFile(dir, "t", "tok\n", 0644);
  ASSERT_TRUE(ResolveToken(&token, path, warn).ok());
  EXPECT_EQ(token, "tok");
  EXPECT_NE(warn.str().find("chmod 600"), std::string::npos) << warn.str();
}

}  // namespace
}  // namespace cjd::ctl
