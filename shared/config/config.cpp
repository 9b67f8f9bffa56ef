// ConfigReader over toml++. toml++ reports parse errors by exception; they are caught here, at
// the edge, and turned into a Status "FILE:LINE:COL: description".
#include "shared/config/config.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include <toml++/toml.h>

namespace cjd {

// ---------------------------------------------------------------------------------------------
// HostPort

std::string HostPort::ToString() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out = "[" + host + "]";
  } else {
    out = host;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

Result<HostPort> ParseHostPort(std::string_view text) {
  auto bad = [text](std::string_view why) {
    return Status::Invalid("expected HOST:PORT, got \"" + std::string(text) + "\" (" +
                           std::string(why) + ")");
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("missing port");
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return bad("an IPv6 host needs [brackets]");
    port = text.substr(colon + 1);
  }
  if (host.empty()) return bad("empty host");
  if (port.empty() || port.size() > 5) return bad("port must be 0..65535");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad("port must be 0..65535");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

// ---------------------------------------------------------------------------------------------
// ConfigReader

struct ConfigReader::Impl {
  toml::table table;

  toml::node_view<const toml::node> Find(std::string_view key) const {
    return toml::at_path(table, key);
  }
};

namespace {

Status ParseErrorStatus(const toml::parse_error& e, std::string_view fallback_name) {
  const toml::source_region& where = e.source();
  std::string name = where.path != nullptr ? *where.path : std::string(fallback_name);
  return Status::Invalid(name + ":" + std::to_string(where.begin.line) + ":" +
                         std::to_string(where.begin.column) + ": " +
                         std::string(e.description()));
}

}  // namespace

ConfigReader::ConfigReader(std::unique_ptr<Impl> impl, std::string dir)
    : impl_(std::move(impl)), dir_(std::move(dir)) {}
ConfigReader::ConfigReader(ConfigReader&&) noexcept = default;
ConfigReader& ConfigReader::operator=(ConfigReader&&) noexcept = default;
ConfigReader::~ConfigReader() = default;

Result<ConfigReader> ConfigReader::LoadFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::NotFound("cannot read config " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return Status::NotFound("cannot read config " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::NotFound("cannot read config " + path);
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) return Status::NotFound("cannot read config " + path + ": " + ec.message());
  std::string dir = absolute.lexically_normal().parent_path().string();

  auto impl = std::make_unique<Impl>();
  try {
    impl->table = toml::parse(std::string_view(text), std::string_view(path));
  } catch (const toml::parse_error& e) {
    return ParseErrorStatus(e, path);
  }
  return ConfigReader(std::move(impl), std::move(dir));
}

Result<ConfigReader> ConfigReader::LoadString(std::string_view toml_text, std::string dir) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->table = toml::parse(toml_text, std::string_view("<config>"));
  } catch (const toml::parse_error& e) {
    return ParseErrorStatus(e, "<config>");
  }
  return ConfigReader(std::move(impl), std::move(dir));
}

void ConfigReader::Fail(std::string_view key, std::string message) {
  if (!status_.ok()) return;  // keep the first error
  status_ = Status::Invalid(std::string(key) + ": " + message, std::string(key));
}

bool ConfigReader::Has(std::string_view key) const { return static_cast<bool>(impl_->Find(key)); }

std::string ConfigReader::String(std::string_view key, std::string def) {
  auto node = impl_->Find(key);
  if (!node) return def;
  if (const auto* s = node.as_string()) return s->get();
  Fail(key, "expected a string");
  return def;
}

std::string ConfigReader::RequireString(std::string_view key) {
  if (!Has(key)) {
    Fail(key, "is required");
    return {};
  }
  return String(key, {});
}

int64_t ConfigReader::Int(std::string_view key, int64_t def, int64_t min, int64_t max) {
  auto node = impl_->Find(key);
  if (!node) return def;
  const auto* i = node.as_integer();
  if (i == nullptr) {
    Fail(key, "expected an integer");
    return def;
  }
  const int64_t value = i->get();
  if (value < min || value > max) {
    Fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return def;
  }
  return value;
}

double ConfigReader::Double(std::string_view key, double def, double min, double max) {
  auto node = impl_->Find(key);
  if (!node) return def;
  double value = 0;
  if (const auto* f = node.as_floating_point()) {
    value = f->get();
  } else if (const auto* i = node.as_integer()) {
    value = static_cast<double>(i->get());
  } else {
    Fail(key, "expected a number");
    return def;
  }
  if (!(value >= min && value <= max)) {
    Fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return def;
  }
  return value;
}

bool ConfigReader::Bool(std::string_view key, bool def) {
  auto node = impl_->Find(key);
  if (!node) return def;
  if (const auto* b = node.as_boolean()) return b->get();
  Fail(key, "expected a boolean (true or false)");
  return def;
}

HostPort ConfigReader::Address(std::string_view key, std::string_view def) {
  Result<HostPort> fallback = ParseHostPort(def);
  HostPort result = fallback.ok() ? *fallback : HostPort{};
  auto node = impl_->Find(key);
  if (!node) return result;
  const auto* s = node.as_string();
  Result<HostPort> parsed =
      s != nullptr ? ParseHostPort(s->get()) : Result<HostPort>(Status::Invalid(""));
  if (!parsed.ok()) {
    Fail(key, "expected HOST:PORT");
    return result;
  }
  return *parsed;
}

std::string ConfigReader::Path(std::string_view key, std::string_view def) {
  std::string value = String(key, std::string(def));
  if (value.empty()) return value;
  std::filesystem::path p(value);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (std::filesystem::path(dir_) / p).lexically_normal().string();
}

}  // namespace cjd
