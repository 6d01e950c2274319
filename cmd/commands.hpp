#pragma once

#include "config/config.hpp"

namespace sbx {

/// `sandhive up`: the whole platform in one process. Returns the exit code.
int run_up(const config& cfg);

} // namespace sbx
