// TLS settings of an MQTT link, checked when a config is loaded so that a mistake is a clear
// config error at start (exit 2 naming the key) rather than an endless series of refused
// connects. Pure functions apart from reading the files.
#pragma once

#include <string>
#include <string_view>

#include "shared/core/status.h"

namespace cjd {

// True for "ssl://..." and "mqtts://..." broker addresses (Paho's TLS schemes).
bool IsTlsBroker(std::string_view broker);

// Checks the [mqtt] TLS keys of a config: with a TLS broker, `cert_file` and `key_file` go
// together and every file given must be readable; with a plain tcp:// broker none may be set
// (certificates that would silently not be used). Errors name the key: "mqtt.key_file: ...".
Status CheckMqttTls(std::string_view broker, const std::string& ca_file,
                   const std::string& cert_file, const std::string& key_file);

}  // namespace cjd
