#include "shared/protocol/topics.h"

namespace cjd::topics {
namespace {

constexpr std::string_view kPrefix = "cjd/v1/dev/";
constexpr std::string_view kUp = "up";
constexpr std::string_view kDown = "down";
constexpr std::string_view kStatus = "status";
constexpr size_t kMaxDeviceIdLength = 64;

std::string Build(std::string_view device_id, std::string_view channel) {
  std::string topic;
  topic.reserve(kPrefix.size() + device_id.size() + 1 + channel.size());
  topic.append(kPrefix);
  topic.append(device_id);
  topic.push_back('/');
  topic.append(channel);
  return topic;
}

bool IsDeviceIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

}  // namespace

std::string Up(std::string_view device_id) { return Build(device_id, kUp); }
std::string Down(std::string_view device_id) { return Build(device_id, kDown); }
std::string Status(std::string_view device_id) { return Build(device_id, kStatus); }
std::string AllUp() { return Build("+", kUp); }
std::string AllStatus() { return Build("+", kStatus); }
std::string HubStatus() { return "cjd/v1/hub/status"; }

std::optional<Parsed> Parse(std::string_view topic) {
  if (topic.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  topic.remove_prefix(kPrefix.size());
  const size_t slash = topic.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view device_id = topic.substr(0, slash);
  const std::string_view channel = topic.substr(slash + 1);
  if (!IsValidDeviceId(device_id)) return std::nullopt;
  Parsed parsed{std::string(device_id), Channel::kUp};
  if (channel == kUp) {
    parsed.channel = Channel::kUp;
  } else if (channel == kDown) {
    parsed.channel = Channel::kDown;
  } else if (channel == kStatus) {
    parsed.channel = Channel::kStatus;
  } else {
    return std::nullopt;  // unknown channel, or extra levels such as ".../a/b/up"
  }
  return parsed;
}

bool IsValidDeviceId(std::string_view id) {
  if (id.empty() || id.size() > kMaxDeviceIdLength) return false;
  for (char c : id) {
    if (!IsDeviceIdChar(c)) return false;
  }
  return true;
}

}  // namespace cjd::topics
