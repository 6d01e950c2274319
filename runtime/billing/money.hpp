#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

/// Money is integer micro-units of currency everywhere (1 unit =
/// 1,000,000): these turn it into text and back without floating point.
namespace sbx::money {

/// 12345678 as "12.345678"; negative amounts get a '-'.
std::string format(int64_t micros);

/// "12", "12.5", "0.000001" as micro-units; nothing for anything else
/// (signs, exponents, more than six decimals, amounts beyond 10^12 units).
std::optional<int64_t> parse(const std::string& text);

/// The largest price of anything (a million units): above it is a typo,
/// and a month of it would overflow.
constexpr int64_t max_price = 1'000'000'000'000;

/// "free=0,pro=50400,enterprise=40000" as plan → micro-units; nothing when
/// malformed, for a plan other than free, pro and enterprise, or a price
/// that is negative or above max_price.
std::optional<std::map<std::string, int64_t>>
parse_plan_prices(const std::string& text);

} // namespace sbx::money
