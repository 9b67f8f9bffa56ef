#include "shared/mqtt/link.h"

#include <chrono>
#include <random>

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

#include "shared/mqtt/backoff.h"
#include "shared/mqtt/nodelay.h"
#include "shared/mqtt/tls.h"

namespace cjd {

struct MqttLink::Paho {
  std::unique_ptr<mqtt::async_client> client;
};

class MqttLink::Callback final : public virtual mqtt::callback {
 public:
  explicit Callback(MqttLink* link) : link_(link) {}
  void connection_lost(const std::string& cause) override {
    spdlog::warn("mqtt: connection lost{}{}", cause.empty() ? "" : ": ", cause);
    link_->connected_.store(false);
    {
      std::lock_guard lock(link_->worker_.mu());
      link_->lost_ = true;
    }
    link_->worker_.Notify();
    if (link_->on_state_) link_->on_state_(false);
  }
  void message_arrived(mqtt::const_message_ptr msg) override {
    if (!link_->on_message_) return;
    const auto& ref = msg->get_payload_ref();
    link_->on_message_(msg->get_topic(), std::string(ref.data(), ref.size()));
  }

 private:
  MqttLink* link_;
};

MqttLink::MqttLink(MqttOptions options, MessageFn on_message, StateFn on_state)
    : options_(std::move(options)),
      on_message_(std::move(on_message)),
      on_state_(std::move(on_state)),
      paho_(std::make_unique<Paho>()) {}

MqttLink::~MqttLink() { Stop(); }

Status MqttLink::Start() {
  try {
    mqtt::create_options create(options_.mqtt5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    paho_->client = std::make_unique<mqtt::async_client>(options_.broker, options_.client_id,
                                                         create, nullptr);
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("bad MQTT broker address '") + options_.broker + "': " + e.what(),
                           "mqtt.broker");
  }
  callback_ = std::make_unique<Callback>(this);
  paho_->client->set_callback(*callback_);
  worker_.Start("mqtt-link", [this] { Run(); });
  return Status::Ok();
}

bool MqttLink::TryConnect() {
  auto builder = mqtt::connect_options_builder();
  if (options_.mqtt5) {
    // MQTT 5 in both the create and the connect options; v5 has clean start, not clean session.
    builder.mqtt_version(MQTTVERSION_5).clean_session(false).clean_start(options_.clean_session);
  } else {
    builder.clean_session(options_.clean_session);
  }
  builder.keep_alive_interval(std::chrono::seconds(options_.keepalive_s))
      .connect_timeout(std::chrono::seconds(options_.connect_timeout_s))
      .max_inflight(options_.max_inflight)
      .automatic_reconnect(false);
  if (!options_.username.empty()) builder.user_name(options_.username);
  if (!options_.password.empty()) builder.password(options_.password);
  if (!options_.will_topic.empty() && options_.will_payload) {
    builder.will(mqtt::message(options_.will_topic, options_.will_payload(), 1, true));
  }
  if (IsTlsBroker(options_.broker)) {
    // paho.mqtt.c 1.3: enableServerCertAuth checks the broker's chain against the trust store;
    // `verify` adds the post-connect check that the certificate names the host we dialled
    // (X509_check_host, then X509_check_ip_asc). Without it any certificate from the CA, e.g.
    // another device's, would pass for the broker.
    auto ssl = mqtt::ssl_options_builder();
    ssl.enable_server_cert_auth(true).verify(true);
    if (!options_.ca_file.empty()) ssl.trust_store(options_.ca_file);
    if (!options_.cert_file.empty()) ssl.key_store(options_.cert_file);
    if (!options_.key_file.empty()) ssl.private_key(options_.key_file);
    ssl.error_handler([broker = options_.broker](const std::string& what) {
      spdlog::debug("mqtt: TLS with {}: {}", broker, what);
    });
    builder.ssl(ssl.finalize());
  }
  try {
    auto tok = paho_->client->connect(builder.finalize());
    if (!tok->wait_for(std::chrono::seconds(options_.connect_timeout_s + 2))) {
      connect_failures_.fetch_add(1);
      return false;
    }
    // Nagle off on the new connection (nodelay.h: acks and offers would wait ~40 ms for the
    // broker's delayed ACK at store rates).
    if (const auto port = BrokerPort(options_.broker)) {
      const int changed = DisableNagleTowards(*port);
      spdlog::debug("mqtt: TCP_NODELAY set on {} socket(s) to port {}", changed, *port);
    }
    for (const auto& topic : options_.subscriptions) {
      auto sub = paho_->client->subscribe(topic, 1);
      if (!sub->wait_for(std::chrono::seconds(options_.connect_timeout_s))) return false;
    }
  } catch (const mqtt::exception& e) {
    // Bounded: the first failure of a series and every 20th are warnings, the rest debug.
    const int64_t failures = connect_failures_.fetch_add(1) + 1;
    const bool loud = failures == 1 || failures % 20 == 0;
    spdlog::log(loud ? spdlog::level::warn : spdlog::level::debug,
                "mqtt: connect to {} failed ({} so far): {}{}", options_.broker, failures, e.what(),
                IsTlsBroker(options_.broker)
                    ? " (TLS: is the broker's certificate from ca_file and for this host name?)"
                    : "");
    try {
      if (paho_->client->is_connected()) paho_->client->disconnect()->wait_for(std::chrono::seconds(1));
    } catch (const mqtt::exception&) {
    }
    return false;
  }
  return true;
}

void MqttLink::Run() {
  Backoff backoff(options_.backoff_min_ms, options_.backoff_max_ms);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::unique_lock lock(worker_.mu());
  while (!worker_.stopping()) {
    if (connected_.load()) {
      worker_.Wait(lock, [this] { return lost_; });
      // connection_lost may have raced with the connect bookkeeping below and had its
      // connected_=false overwritten: lost_ is the word that counts.
      if (lost_) connected_.store(false);
      continue;
    }
    lost_ = false;
    lock.unlock();
    bool ok = TryConnect();
    lock.lock();
    if (worker_.stopping()) break;
    // The connection may have dropped between the subscribe and here (connection_lost set
    // lost_): count that as a failed attempt, never as connected.
    if (ok && (lost_ || !paho_->client->is_connected())) ok = false;
    if (ok) {
      connected_.store(true);
      if (ever_connected_) reconnects_.fetch_add(1);
      ever_connected_ = true;
      backoff.Reset();
      spdlog::info("mqtt: connected to {} as {}", options_.broker, options_.client_id);
      lock.unlock();
      if (on_state_) on_state_(true);
      lock.lock();
      continue;
    }
    const int64_t delay = backoff.Next(uniform(rng));
    worker_.SleepFor(lock, std::chrono::milliseconds(delay));
  }
}

bool MqttLink::Publish(const std::string& topic, const std::string& payload, int qos,
                       bool retained) {
  if (!connected_.load() || !paho_->client) return false;
  try {
    paho_->client->publish(topic, payload.data(), payload.size(), qos, retained);
    return true;
  } catch (const mqtt::exception& e) {
    spdlog::debug("mqtt: publish to {} failed: {}", topic, e.what());
    return false;
  }
}

void MqttLink::Stop(const std::string& final_topic, const std::string& final_payload) {
  if (!worker_.RequestStop()) return;  // stopped already
  worker_.Stop();
  if (!paho_->client) return;
  try {
    if (paho_->client->is_connected()) {
      if (!final_topic.empty()) {
        paho_->client->publish(final_topic, final_payload.data(), final_payload.size(), 1, true)
            ->wait_for(std::chrono::seconds(2));
      }
      paho_->client->disconnect()->wait_for(std::chrono::seconds(2));
    }
  } catch (const mqtt::exception& e) {
    spdlog::debug("mqtt: disconnect: {}", e.what());
  }
  connected_.store(false);
}

}  // namespace cjd
