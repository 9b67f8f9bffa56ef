#include "tools/cjdctl/hub_error.h"

#include <nlohmann/json.hpp>

namespace cjd::ctl {
namespace {

std::string StringAt(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

HubError ParseHubError(std::string_view body) {
  HubError out;
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto err = j.find("error");
    if (err != j.end() && err->is_object()) {
      out.code = StringAt(*err, "code");
      out.message = StringAt(*err, "message");
      out.field = StringAt(*err, "field");
    } else {
      out.code = StringAt(j, "error");
    }
    if (out.message.empty()) out.message = StringAt(j, "message");
    if (out.field.empty()) out.field = StringAt(j, "field");
  }
  if (out.code.empty() && out.message.empty()) {
    out.text = std::string(body.substr(0, 300));
    if (body.size() > 300) out.text += "...";
    if (out.text.empty()) out.text = "(empty body)";
    return out;
  }
  out.text = out.code;
  if (!out.message.empty()) out.text += (out.text.empty() ? "" : ": ") + out.message;
  if (!out.field.empty()) out.text += " (field " + out.field + ")";
  return out;
}

std::optional<size_t> LeadingIndex(std::string_view field) {
  if (field.size() < 3 || field[0] != '[') return std::nullopt;
  size_t i = 1;
  size_t value = 0;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '9'; ++i) {
    if (i > 10) return std::nullopt;
    value = value * 10 + static_cast<size_t>(field[i] - '0');
  }
  if (i == 1 || i >= field.size() || field[i] != ']') return std::nullopt;
  return value;
}

}  // namespace cjd::ctl
