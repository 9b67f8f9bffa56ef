// Mosquitto: a real broker (the Debian package's /usr/sbin/mosquitto) on a loopback port, with a
// generated config, for integration tests and benchmarks.
//
//   if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
//   TempDir dir;
//   Mosquitto broker = Mosquitto::Start(dir.path());
//   ... connect to broker.Uri() ("tcp://127.0.0.1:<port>") ...
//
// With a MosquittoTls (see tls_pki.h for making one), the listener is mutual TLS as in
// device-configs/mosquitto.conf: every client needs a certificate from the CA, its CN is its user
// name, no anonymous clients, and the ACL file applies; Uri() is then "ssl://127.0.0.1:<port>".
//
// Files in `dir`: mosquitto.conf, mosquitto.log (the broker's own log: errors, warnings,
// notices) and mosquitto.out (its stdout/stderr, where config errors go).
// Threading: one thread at a time. Every wait is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "tests/support/process.h"

namespace cjd::testing {

struct MosquittoTls {
  std::filesystem::path ca_file;    // clients' certificates must chain to it
  std::filesystem::path cert_file;  // the broker's server certificate and key
  std::filesystem::path key_file;
  std::filesystem::path acl_file;   // e.g. device-configs/mosquitto.acl
};

class Mosquitto {
 public:
  // The mosquitto program: /usr/sbin/mosquitto, else the first in PATH; "" if none.
  static std::string BinaryPath();
  static bool Available() { return !BinaryPath().empty(); }
  // A message for GTEST_SKIP() when Available() is false.
  static std::string UnavailableReason();

  // Writes `dir`/mosquitto.conf and starts the broker on 127.0.0.1:`port` (0 = a free port,
  // retried with another one if it is taken meanwhile). Returns once the port accepts TCP
  // connections (10 s at most). Throws std::runtime_error, with the broker's output, on failure.
  // `dir` must exist and outlive the broker. With `tls`, the listener is mutual TLS (above). With
  // `persistence`, the broker keeps its sessions and queued messages in `dir`/mosquitto.db
  // (written on a clean stop and every second), so they survive Restart(); without, a restart
  // forgets every session.
  static Mosquitto Start(const std::filesystem::path& dir, uint16_t port = 0,
                         std::optional<MosquittoTls> tls = std::nullopt,
                         bool persistence = false);

  Mosquitto(Mosquitto&&) noexcept = default;
  Mosquitto& operator=(Mosquitto&&) noexcept = default;
  Mosquitto(const Mosquitto&) = delete;
  Mosquitto& operator=(const Mosquitto&) = delete;
  ~Mosquitto();  // Stop() with a short grace period, then SIGKILL

  uint16_t port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  // "tcp://127.0.0.1:<port>" ("ssl://..." with TLS), the form Paho's server URI takes.
  std::string Uri() const;
  bool tls() const { return tls_.has_value(); }
  const std::filesystem::path& config_path() const { return config_path_; }
  std::filesystem::path log_path() const { return dir_ / "mosquitto.log"; }
  std::filesystem::path output_path() const { return dir_ / "mosquitto.out"; }
  pid_t pid() const { return process_.pid(); }

  bool Running() { return process_.Running(); }
  // SIGTERM and wait (then SIGKILL). Returns the exit status; std::nullopt if it had to be killed.
  std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL, as in a crash: clients see the connection drop without a clean close.
  void Kill();
  // Stops the broker if it runs, waits until the port can be bound again, then starts it on
  // the same port with the same config, retrying until it listens (10 s at most).
  // Throws std::runtime_error on failure.
  void Restart();

  // The tails of the broker's log file and of its stdout/stderr, for failure messages.
  std::string Diagnostics() const;

 private:
  Mosquitto(std::filesystem::path dir, uint16_t port, std::optional<MosquittoTls> tls,
            bool persistence);
  void WriteConfig() const;
  // One attempt: spawn and wait for the port. False (process reaped) if it exits or never listens.
  bool Launch(std::chrono::milliseconds timeout);

  std::filesystem::path dir_;
  std::filesystem::path config_path_;
  uint16_t port_ = 0;
  std::optional<MosquittoTls> tls_;
  bool persistence_ = false;
  Process process_;
};

}  // namespace cjd::testing
