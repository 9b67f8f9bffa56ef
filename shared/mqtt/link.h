// MqttLink: one Paho async client with its own connector thread. It connects, re-subscribes and
// reconnects with exponential backoff and jitter. Paho runs without persistence: the callers keep
// their own (the agent's SQLite outbox, the hub's event store), and resend on their own terms.
//
// Threading: `on_message` and `on_state` run on Paho's callback thread; they must only record or
// enqueue (never block, never publish-and-wait). Publish() may be called from any thread and
// never waits for the broker.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shared/core/status.h"
#include "shared/core/worker_thread.h"

namespace cjd {

struct MqttOptions {
  std::string broker;                  // "tcp://127.0.0.1:1883" or "ssl://host:8883"
  std::string client_id;
  std::string username;                // optional
  std::string password;                // optional
  // TLS, for ssl:// (mqtts://) brokers only. The broker's certificate is always verified, against
  // `ca_file` (else the system's trust store), and so is its host name: the host in `broker` must
  // be in the certificate's subjectAltName (DNS name or IP address). See shared/mqtt/tls.h.
  std::string ca_file;                 // PEM CA certificate(s) the broker's chain must end in
  std::string cert_file;               // PEM client certificate (mutual TLS); optional
  std::string key_file;                // PEM private key of cert_file; required with it
  bool clean_session = true;           // with mqtt5: clean start
  bool mqtt5 = false;                  // MQTT 5 instead of 3.1.1 (the hub's shared subscriptions)
  int keepalive_s = 20;
  int connect_timeout_s = 5;
  int max_inflight = 64;               // unacknowledged QoS 1 publishes inside Paho
  int64_t backoff_min_ms = 250;
  int64_t backoff_max_ms = 30'000;
  std::vector<std::string> subscriptions;   // QoS 1, re-applied on every connect
  // The last will, asked for before every connect so it can carry fresh figures. Optional.
  std::string will_topic;
  std::function<std::string()> will_payload;
};

class MqttLink {
 public:
  using MessageFn = std::function<void(const std::string& topic, std::string&& payload)>;
  using StateFn = std::function<void(bool connected)>;

  MqttLink(MqttOptions options, MessageFn on_message, StateFn on_state);
  ~MqttLink();  // Stop()s
  MqttLink(const MqttLink&) = delete;
  MqttLink& operator=(const MqttLink&) = delete;

  // Validates the broker address and starts the connector thread.
  Status Start();
  // Publishes `final_payload` to `final_topic` (if non-empty) when connected, disconnects
  // cleanly (so no last will is sent) and joins the thread. Idempotent.
  void Stop(const std::string& final_topic = {}, const std::string& final_payload = {});

  bool connected() const { return connected_.load(); }
  // Queues a publish; false if not connected or Paho refused it (the caller resends later).
  bool Publish(const std::string& topic, const std::string& payload, int qos, bool retained);
  // Number of reconnects after the first successful connect.
  int64_t reconnects() const { return reconnects_.load(); }
  // Number of connect attempts that failed (broker down, TLS refused either way, ...).
  int64_t connect_failures() const { return connect_failures_.load(); }

 private:
  class Callback;
  void Run();
  bool TryConnect();

  MqttOptions options_;
  MessageFn on_message_;
  StateFn on_state_;
  struct Paho;
  // The connector thread; declared before the client, so its mutex (which the client's callback
  // takes) outlives it. ~MqttLink stops (joins) it first.
  WorkerThread worker_;
  std::unique_ptr<Callback> callback_;  // declared before paho_: outlives the client
  std::unique_ptr<Paho> paho_;
  bool lost_ = false;          // guarded by worker_.mu(): the connection dropped, reconnect
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> reconnects_{0};
  std::atomic<int64_t> connect_failures_{0};
  bool ever_connected_ = false;
};

}  // namespace cjd
