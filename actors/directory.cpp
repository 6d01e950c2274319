#include "actors/directory.hpp"

#include "actors/error.hpp"

#include <caf/send.hpp>

namespace sbx {

namespace {

using self_ptr = directory_actor::stateful_pointer<directory_state>;

void record(self_ptr self, const directory_state::entry& e) {
  if (!self->state.database)
    return;
  if (auto db = self->state.database())
    caf::anon_send(db, atom::put_v, e.info, e.node);
}

} // namespace

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          std::function<database_actor()> database) {
  self->state.database = std::move(database);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& all = self->state.sandboxes;
    for (auto i = all.begin(); i != all.end(); ++i) {
      if (i->second.handle.address() != msg.source)
        continue;
      // Gone without a last word (it crashed, or its node did).
      i->second.info.state = "killed";
      i->second.info.end_reason = "lost";
      record(self, i->second);
      all.erase(i);
      return;
    }
  });
  return {
    [self](atom::put, const std::string& node, const sandbox_actor& sb,
           const sandbox_info& info) {
      auto& e = self->state.sandboxes[info.id];
      e = {node, sb, info};
      record(self, e);
      self->monitor(sb);
      caf::anon_send(sb, atom::watch_v, caf::actor_cast<caf::actor>(self));
    },
    [self](atom::get_atom, const std::string& id)
      -> caf::result<sandbox_actor, sandbox_info> {
      auto i = self->state.sandboxes.find(id);
      if (i == self->state.sandboxes.end())
        return make_error(ec::not_found, "sandbox " + id + " not found");
      return {i->second.handle, i->second.info};
    },
    [self](atom::update, const sandbox_info& info) {
      auto i = self->state.sandboxes.find(info.id);
      if (i == self->state.sandboxes.end()
          || i->second.info.revision > info.revision)
        return;
      auto changed = i->second.info.state != info.state
                     || i->second.info.team != info.team;
      i->second.info = info;
      if (changed)
        record(self, i->second);
      if (info.state == "killed") {
        self->demonitor(i->second.handle.address());
        self->state.sandboxes.erase(i);
      }
    },
  };
}

} // namespace sbx
