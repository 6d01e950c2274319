#pragma once

#include "actors/error.hpp"

#include <caf/sec.hpp>

#include <ostream>

// Lets Boost.Test print errors in failed assertions.

namespace sbx {

inline std::ostream& operator<<(std::ostream& os, ec x) {
  return os << to_string(x);
}

} // namespace sbx

namespace caf {

inline std::ostream& operator<<(std::ostream& os, const error& x) {
  return os << (x ? sbx::message_of(x) : std::string{"none"});
}

inline std::ostream& operator<<(std::ostream& os, sec x) {
  return os << to_string(x);
}

} // namespace caf
