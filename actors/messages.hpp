#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include <string>
#include <vector>

/// Message types that travel between actors (and later between processes).
/// Every `inspect` lives here: the inspection API changes in CAF 0.18.
namespace sbx {

/// The outcome of probing one dependency.
struct check {
  /// What was probed: "postgres", "redis", …
  std::string name;
  bool ok = false;
  /// Why it failed; empty when ok.
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check& x) {
  return f(caf::meta::type_name("sbx.check"), x.name, x.ok, x.message);
}

/// Whether a process can serve requests: ready only if every check is ok.
struct readiness {
  bool ready = false;
  std::vector<check> checks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, readiness& x) {
  return f(caf::meta::type_name("sbx.readiness"), x.ready, x.checks);
}

} // namespace sbx

CAF_BEGIN_TYPE_ID_BLOCK(sbx_types, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(sbx_types, (sbx::check))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::readiness))

CAF_END_TYPE_ID_BLOCK(sbx_types)
