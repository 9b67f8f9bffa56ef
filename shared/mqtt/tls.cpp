#include "shared/mqtt/tls.h"

#include <fstream>

namespace cjd {
namespace {

Status Readable(std::string_view key, const std::string& path) {
  if (path.empty()) return Status::Ok();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Invalid(std::string(key) + ": cannot read " + path, std::string(key));
  }
  return Status::Ok();
}

}  // namespace

bool IsTlsBroker(std::string_view broker) {
  return broker.rfind("ssl://", 0) == 0 || broker.rfind("mqtts://", 0) == 0;
}

Status CheckMqttTls(std::string_view broker, const std::string& ca_file,
                    const std::string& cert_file, const std::string& key_file) {
  if (!IsTlsBroker(broker)) {
    for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"mqtt.ca_file", ca_file},
                                     {"mqtt.cert_file", cert_file},
                                     {"mqtt.key_file", key_file}}) {
      if (!value.empty()) {
        return Status::Invalid(std::string(key) + ": set, but mqtt.broker is not ssl://HOST:PORT",
                               key);
      }
    }
    return Status::Ok();
  }
  if (!cert_file.empty() && key_file.empty())
    return Status::Invalid("mqtt.key_file: required with mqtt.cert_file", "mqtt.key_file");
  if (cert_file.empty() && !key_file.empty())
    return Status::Invalid("mqtt.cert_file: required with mqtt.key_file", "mqtt.cert_file");
  CJD_RETURN_IF_ERROR(Readable("mqtt.ca_file", ca_file));
  CJD_RETURN_IF_ERROR(Readable("mqtt.cert_file", cert_file));
  CJD_RETURN_IF_ERROR(Readable("mqtt.key_file", key_file));
  return Status::Ok();
}

}  // namespace cjd
