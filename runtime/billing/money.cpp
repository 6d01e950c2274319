#include "runtime/billing/money.hpp"

#include <sstream>

namespace sbx::money {

std::string format(int64_t micros) {
  auto neg = micros < 0;
  auto abs = neg ? -static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  auto frac = std::to_string(abs % 1'000'000);
  frac = std::string(6 - frac.size(), '0') + frac;
  return (neg ? "-" : "") + std::to_string(abs / 1'000'000) + "." + frac;
}

std::optional<int64_t> parse(const std::string& text) {
  auto dot = text.find('.');
  auto units = text.substr(0, dot);
  auto frac = dot == std::string::npos ? std::string{} : text.substr(dot + 1);
  auto digits = [](const std::string& x) {
    return x.find_first_not_of("0123456789") == std::string::npos;
  };
  if (units.empty() || units.size() > 12 || !digits(units) || frac.size() > 6
      || !digits(frac) || (dot != std::string::npos && frac.empty()))
    return std::nullopt;
  frac += std::string(6 - frac.size(), '0');
  return std::stoll(units) * 1'000'000 + std::stoll(frac);
}

std::optional<std::map<std::string, int64_t>>
parse_plan_prices(const std::string& text) {
  std::map<std::string, int64_t> out;
  std::istringstream in{text};
  for (std::string item; std::getline(in, item, ',');) {
    auto eq = item.find('=');
    if (eq == std::string::npos)
      return std::nullopt;
    auto plan = item.substr(0, eq);
    auto value = item.substr(eq + 1);
    if ((plan != "free" && plan != "pro" && plan != "enterprise")
        || value.empty() || value.size() > 13
        || value.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    auto x = std::stoll(value);
    if (x > max_price)
      return std::nullopt;
    out[plan] = x;
  }
  return out;
}

} // namespace sbx::money
