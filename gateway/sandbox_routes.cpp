#include "gateway/sandbox_routes.hpp"

#include "actors/error.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace sbx {

struct sandbox_routes::shared {
  using clock = std::chrono::steady_clock;

  std::mutex mtx;
  /// Immutable routes, replaced on change: a lookup copies a pointer under
  /// the lock, not three strings (two I/O threads meet on this lock on
  /// every data-plane request).
  std::unordered_map<std::string, std::shared_ptr<const sandbox_route>> routes;
  /// Sandboxes seen to end, for a minute: a lookup that misses the cache
  /// must not bring one back from a directory that has not heard yet.
  std::unordered_map<std::string, clock::time_point> ended;
  std::deque<std::pair<clock::time_point, std::string>> ended_order;

  /// Records an end (lock held).
  void bury(const std::string& id) {
    auto now = clock::now();
    while (!ended_order.empty()
           && now - ended_order.front().first > std::chrono::minutes{1}) {
      ended.erase(ended_order.front().second);
      ended_order.pop_front();
    }
    if (ended.emplace(id, now).second)
      ended_order.emplace_back(now, id);
  }

  bool buried(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx};
    return ended.count(id) > 0;
  }
  /// Monitors every cached sandbox actor and forgets it when it goes down.
  caf::actor janitor;

  /// Stores a newer info; returns whether the sandbox is new to the cache.
  /// Without a handle (an update the sandbox published) only a cached
  /// sandbox is updated.
  bool update(const sandbox_info& info, const sandbox_actor& handle) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = routes.find(info.id);
    if (info.state == "killed") {
      if (i != routes.end())
        routes.erase(i);
      bury(info.id);
      return false;
    }
    if (i == routes.end()) {
      if (!handle || ended.count(info.id))
        return false;
      routes.emplace(info.id, std::make_shared<const sandbox_route>(
                                sandbox_route{info.id, handle, info.team,
                                              info.access_token,
                                              std::make_shared<
                                                const sandbox_info>(info)}));
      return true;
    }
    auto& r = *i->second;
    if (r.info && r.info->revision > info.revision)
      return false;
    i->second = std::make_shared<const sandbox_route>(
      sandbox_route{r.id, r.handle, info.team, info.access_token,
                    std::make_shared<const sandbox_info>(info)});
    return false;
  }

  std::shared_ptr<const sandbox_route> get(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = routes.find(id);
    return i == routes.end() ? nullptr : i->second;
  }
};

sandbox_routes::sandbox_routes(caf::actor_system& sys, bridge& b,
                               const backends& be)
  : shared_(std::make_shared<shared>()), bridge_(b), backends_(be) {
  std::weak_ptr<shared> weak = shared_;
  shared_->janitor = sys.spawn([weak](caf::event_based_actor* self) {
    // Watched actor address → sandbox id.
    auto watched
      = std::make_shared<std::map<caf::actor_addr, std::string>>();
    self->set_down_handler([weak, watched](caf::down_msg& msg) {
      auto i = watched->find(msg.source);
      if (i == watched->end())
        return;
      if (auto sh = weak.lock()) {
        std::lock_guard<std::mutex> guard{sh->mtx};
        auto r = sh->routes.find(i->second);
        if (r != sh->routes.end()
            && r->second->handle.address() == msg.source) {
          sh->routes.erase(r);
          sh->bury(i->second);
        }
      }
      watched->erase(i);
    });
    return caf::behavior{
      [self, watched](atom::subscribe, const sandbox_actor& sb,
                      const std::string& id) {
        if (!watched->emplace(sb.address(), id).second)
          return;
        self->monitor(sb);
        caf::anon_send(sb, atom::watch_v, caf::actor_cast<caf::actor>(self));
      },
      [weak](atom::update, const sandbox_info& info) {
        if (auto sh = weak.lock())
          sh->update(info, {});
      },
      // The directory says a sandbox ended (its node may be gone without a
      // word, so its actor's down message may never come).
      [weak](atom::ended, const std::string& id) {
        if (auto sh = weak.lock()) {
          std::lock_guard<std::mutex> guard{sh->mtx};
          sh->routes.erase(id);
          sh->bury(id);
        }
      },
      [self](atom::subscribe, const caf::actor& directory) {
        caf::anon_send(caf::actor_cast<directory_actor>(directory),
                       atom::subscribe_v, caf::actor_cast<caf::actor>(self));
      },
    };
  });
}

void sandbox_routes::stop() {
  caf::anon_send_exit(shared_->janitor, caf::exit_reason::user_shutdown);
  shared_->janitor = nullptr;
  std::lock_guard<std::mutex> guard{shared_->mtx};
  shared_->routes.clear();
}

void sandbox_routes::put(const sandbox_actor& handle,
                         const sandbox_info& info) {
  if (!handle)
    return;
  if (shared_->update(info, handle))
    caf::anon_send(shared_->janitor, atom::subscribe_v, handle, info.id);
}

void sandbox_routes::follow(const directory_actor& dir) {
  if (dir && shared_->janitor)
    caf::anon_send(shared_->janitor, atom::subscribe_v,
                   caf::actor_cast<caf::actor>(dir));
}

void sandbox_routes::forget(const std::string& id) {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  shared_->routes.erase(id);
  shared_->bury(id);
}

void sandbox_routes::find(const std::string& id, callback fn) {
  if (auto r = shared_->get(id)) {
    fn(*r);
    return;
  }
  auto not_found = [id] {
    return make_error(ec::not_found, "sandbox " + id + " not found");
  };
  if (shared_->buried(id)) {
    fn(not_found());
    return;
  }
  bridge_.request(
    backends_.directory(),
    [this, fn, not_found](const sandbox_actor& sb, const sandbox_info& info) {
      if (!sb || info.state == "killed" || info.team.empty()) {
        fn(not_found());
        return;
      }
      put(sb, info);
      fn(sandbox_route{info.id, sb, info.team, info.access_token,
                       std::make_shared<const sandbox_info>(info)});
    },
    [fn, not_found](const caf::error& err) {
      fn(err == ec::not_found ? not_found() : caf::expected<sandbox_route>{err});
    },
    atom::get_v, id);
}

void sandbox_routes::find_if(std::function<bool(const sandbox_route&)> pred,
                             callback fn) {
  std::shared_ptr<const sandbox_route> hit;
  {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    for (auto& [id, r] : shared_->routes)
      if (pred(*r)) {
        hit = r;
        break;
      }
  }
  if (hit) {
    fn(*hit);
    return;
  }
  // Not cached (the gateway restarted, say): ask the directory for all.
  bridge_.request(
    backends_.directory(),
    [this, pred, fn](const std::vector<sandbox_info>& infos) {
      for (auto& info : infos) {
        if (info.team.empty() || info.state == "killed")
          continue;
        if (pred(sandbox_route{info.id, {}, info.team, info.access_token,
                               nullptr})) {
          find(info.id, fn);
          return;
        }
      }
      fn(make_error(ec::not_found, "no sandbox matches the signature"));
    },
    [fn](const caf::error& err) { fn(err); }, atom::list_v, std::string{});
}

} // namespace sbx
