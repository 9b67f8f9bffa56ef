# cjd_options: the C++ standard, warnings and (optionally) sanitizers, as one interface target
# that every project target links. No global flags.
add_library(cjd_options INTERFACE)
target_compile_features(cjd_options INTERFACE cxx_std_20)
target_compile_options(cjd_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                             -Wno-missing-field-initializers)
target_include_directories(cjd_options INTERFACE ${PROJECT_SOURCE_DIR})
target_compile_definitions(cjd_options INTERFACE CJD_VERSION="${PROJECT_VERSION}")
if(CJD_SANITIZE)
  target_compile_options(cjd_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                               -fno-sanitize-recover=undefined)
  target_link_options(cjd_options INTERFACE -fsanitize=address,undefined)
endif()
# Fuzzers (tests/fuzz): every project target gets libFuzzer's coverage instrumentation plus
# ASan and UBSan (UB aborts); the fuzz targets themselves link -fsanitize=fuzzer for the driver.
if(CJD_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CJD_BUILD_FUZZERS needs clang (-DCMAKE_CXX_COMPILER=clang++): "
                        "libFuzzer is part of clang")
  endif()
  target_compile_options(cjd_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                               -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(cjd_options INTERFACE -fsanitize=address,undefined)
endif()
