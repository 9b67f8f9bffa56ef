// WriteSecretFile: 0600 whatever the umask, replaces atomically, leaves no temporary file.
#include "shared/core/private_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace cjd {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(PrivateFiles, SecretFileIsOwnerOnlyEvenUnderAPermissiveUmask) {
  cjd::testing::TempDir dir;
  const mode_t old = ::umask(0);
  const fs::path p = dir.Join("hub.key");
  const Status st = WriteSecretFile(p.string(), "secret\n");
  ::umask(old);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ModeOf(p), 0600u);
  EXPECT_EQ(Read(p), "secret\n");
}

TEST(PrivateFiles, ReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  cjd::testing::TempDir dir;
  const fs::path p = dir.Join("agent.toml");
  { std::ofstream(p) << "old"; }
  ::chmod(p.c_str(), 0644);
  ASSERT_TRUE(WriteSecretFile(p.string(), "new").ok());
  EXPECT_EQ(Read(p), "new");
  EXPECT_EQ(ModeOf(p), 0600u);
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(PrivateFiles, MissingDirectoryIsAnErrorNamingThePath) {
  cjd::testing::TempDir dir;
  const std::string p = dir.Join("nope/hub.key").string();
  const Status st = WriteSecretFile(p, "x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kIo);
  EXPECT_NE(st.message().find(p), std::string::npos) << st.message();
}

TEST(PrivateFiles, RestrictFileCreationMakesNewFilesOwnerOnly) {
  cjd::testing::TempDir dir;
  const mode_t old = ::umask(022);
  RestrictFileCreation();
  const fs::path p = dir.Join("db");
  { std::ofstream(p) << "x"; }
  ::umask(old);
  EXPECT_EQ(ModeOf(p), 0600u);
}

}  // namespace
}  // namespace cjd
