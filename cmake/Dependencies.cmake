# Every dependency comes from Debian bookworm packages (see packaging/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(PahoMqttCpp REQUIRED)
find_package(OpenSSL REQUIRED)   # libcrypto: cjdctl's certificate authority
find_package(SQLite3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# libpq: the hub's state on PostgreSQL (issue 17; Debian libpq-dev)
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
# libphonenumber (libphonenumber-dev): Debian ships neither a CMake config nor a pkg-config file
# for it, only the headers and libphonenumber.so (which needs protobuf, ICU and abseil at run time
# through its own NEEDED entries). Linked by cjd_identity (the hub's phone normalisation) only.
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h REQUIRED)
find_library(PHONENUMBER_LIBRARY phonenumber REQUIRED)
add_library(PhoneNumber::PhoneNumber UNKNOWN IMPORTED)
set_target_properties(PhoneNumber::PhoneNumber PROPERTIES
  IMPORTED_LOCATION "${PHONENUMBER_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${PHONENUMBER_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES PkgConfig::PROTOBUF)
