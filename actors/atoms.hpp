#pragma once

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

/// sandhive's atoms, as `sbx::atom::x` (type) and `sbx::atom::x_v` (value).
/// CAF's own atoms are re-exported under the same scheme.
namespace sbx::atom {

using caf::get_atom;
using caf::ok_atom;
constexpr auto get_v = get_atom::value;
constexpr auto ok_v = ok_atom::value;

} // namespace sbx::atom

CAF_ADD_ATOM(sbx_atoms, sbx::atom, ping, "ping")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, ready, "ready")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, shutdown, "shutdown")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, tick, "tick")
