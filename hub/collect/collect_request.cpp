#include "hub/collect/collect_request.h"

#include <cctype>
#include <string>
#include <string_view>
#include <unordered_map>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

bool IsJsonMediaType(const std::string& media) {
  constexpr std::string_view kSuffix = "+json";
  return media == "application/json" ||
         (media.size() > kSuffix.size() &&
          media.compare(media.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0);
}

}  // namespace

std::string MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  std::string out;
  for (char c : content_type) {
    if (c == ' ' || c == '\t') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

CollectEvent ToCollectEvent(Event e, int64_t now_ms) {
  if (e.event_id.empty()) e.event_id = NewEventId(now_ms);
  CollectEvent c;
  c.event_id = e.event_id;
  c.type = e.type;
  c.occurred_at_ms = e.occurred_at_ms;
  c.body = ToCanonicalJson(e);
  return c;
}

CollectParse ParseCollectRequest(const http::Request& req, int64_t now_ms) {
  CollectParse out;
  const std::string content_type = req.Header("content-type");
  if (!content_type.empty() && !IsJsonMediaType(MediaType(content_type))) {
    out.error = http::JsonError(415, "unsupported_media_type",
                                "the body must be JSON (Content-Type: application/json), got " +
                                    content_type);
    return out;
  }
  auto parsed = ParseJsonExact(req.body);
  if (!parsed.ok()) {
    out.error = http::JsonError(400, "invalid_json", parsed.status().message(), "body");
    return out;
  }
  auto validated = ValidateEventBody(*parsed, kMaxCollectEvents, kCollectEventTypes);
  if (!validated.ok()) {
    out.error = http::ErrorFromStatus(validated.status());
    return out;
  }
  {
    std::unordered_map<std::string_view, size_t> seen;
    for (size_t i = 0; i < validated->size(); ++i) {
      const std::string& id = (*validated)[i].event_id;
      if (id.empty()) continue;
      auto [it, fresh] = seen.emplace(id, i);
      if (!fresh) {
        out.error = http::ErrorFromStatus(Status::Invalid(
            "repeats the event_id of event [" + std::to_string(it->second) +
                "] in this request",
            "[" + std::to_string(i) + "].event_id"));
        return out;
      }
    }
  }
  out.events.reserve(validated->size());
  for (Event& e : *validated) out.events.push_back(ToCollectEvent(std::move(e), now_ms));
  return out;
}

}  // namespace cjd::hub
