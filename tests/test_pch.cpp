// The source of cjd_test_pch (tests/CMakeLists.txt): the target exists to build the tests' shared
// precompiled header; this file only gives it something to compile.
