// Where the built programs and the shared data sets are.
//
// CTest runs every test with CJD_SOURCE_DIR and CJD_BINARY_DIR set (see cjd_add_test); a test
// binary run by hand falls back to the directories CMake configured it with.
#pragma once

#include <string>

namespace cjd::testing {

std::string SourceDir();  // $CJD_SOURCE_DIR, the repository root
std::string BinaryDir();  // $CJD_BINARY_DIR, the top of the build tree

std::string AgentBinary();   // BinaryDir() + "/agent/cjd-agent"
std::string HubBinary();     // BinaryDir() + "/hub/cjd-hub"
std::string CjdctlBinary();  // BinaryDir() + "/tools/cjdctl/cjdctl"

// SourceDir()/../shared/datasets/`name` (the team kit beside the repository), normalised;
// "" if it does not exist, so a test can GTEST_SKIP() when the data is absent.
std::string DatasetDir(const std::string& name);

}  // namespace cjd::testing
