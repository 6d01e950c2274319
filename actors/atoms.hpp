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
CAF_ADD_ATOM(sbx_atoms, sbx::atom, create, "create")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, claim, "claim")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, timeout, "timeout")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, pause, "pause")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, resume, "resume")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, kill, "kill")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, stats, "stats")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, request, "request")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, stream, "stream")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, event, "event")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, ack, "ack")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, cancel, "cancel")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, write, "write")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, subscribe, "subscribe")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, envd, "envd")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, closed, "closed")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, ended, "ended")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, drained, "drained")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, list, "list")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, size, "size")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, restart, "restart")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, destroy, "destroy")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, refill, "refill")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, key, "key")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, templates, "templates")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, watch, "watch")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, update, "update")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, put, "put")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, hello, "hello")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, join, "join")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, heartbeat, "heartbeat")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, nodes, "nodes")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, reserve, "reserve")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, commit, "commit")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, release, "release")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, adopt, "adopt")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, lost, "lost")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, cordon, "cordon")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, drain, "drain")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, limits, "limits")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, live, "live")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, run, "run")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, open, "open")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, audit, "audit")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, team, "team")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, teams, "teams")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, members, "members")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, log_level, "loglevel")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, sample, "sample")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, node, "node")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, month, "month")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, user, "user")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, email, "email")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, session, "session")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, rotate, "rotate")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, revoke, "revoke")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, role, "role")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, member, "member")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, api_key, "apikey")
CAF_ADD_ATOM(sbx_atoms, sbx::atom, usage, "usage")
