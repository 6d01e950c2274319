// `sandhive admin`: the operators' shell. It joins the cluster as an
// operator (cluster secret and admin token) through an admin_client actor
// and runs the commands of actors/admin_commands.hpp on the control's
// admin actor: interactively, with line editing, history and completion
// (libedit), or one command with -c, printed as text or --json.

#include "cmd/admin_render.hpp"
#include "cmd/commands.hpp"
#include "cmd/process.hpp"

#include "actors/admin_client.hpp"
#include "actors/admin_commands.hpp"
#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <caf/scoped_actor.hpp>

#include <editline/readline.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <poll.h>
#include <termios.h>
#include <unistd.h>

namespace sbx {

namespace {

using namespace std::chrono_literals;
using ops::json;

/// Exit codes: the command worked; it failed; it was typed wrong; the
/// control could not be reached or refused the operator.
enum exit_code : int { worked = 0, failed = 1, usage = 2, unreachable = 3 };

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) {
  interrupted = true;
}

int exit_code_of(const caf::error& err) {
  if (err == ec::invalid_argument)
    return usage;
  if (err == ec::unavailable || err == ec::permission_denied
      || err == ec::unauthenticated || err == ec::timeout
      || err == caf::sec::request_timeout)
    return unreachable;
  return failed;
}

/// Puts the terminal in character mode (no echo, no line buffering, ^C as
/// a byte) while it lives, so that `top` and `events` see a single q.
class raw_terminal {
public:
  raw_terminal() : active_(::isatty(STDIN_FILENO) == 1) {
    if (!active_ || ::tcgetattr(STDIN_FILENO, &saved_) != 0) {
      active_ = false;
      return;
    }
    auto raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }

  ~raw_terminal() {
    if (active_)
      ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

  /// Waits up to `timeout` for a key; true if it asks to stop (q, Q, ^C,
  /// ^D), or if the process was interrupted.
  bool quit_within(std::chrono::milliseconds timeout) {
    if (!active_) {
      auto until = std::chrono::steady_clock::now() + timeout;
      while (!interrupted && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(50ms);
      return interrupted;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
      return interrupted;
    char c = 0;
    if (::read(STDIN_FILENO, &c, 1) != 1)
      return true;
    return c == 'q' || c == 'Q' || c == 3 || c == 4;
  }

private:
  bool active_;
  termios saved_{};
};

class shell {
public:
  shell(caf::actor_system& sys, admin_client_actor client, bool json_out)
    : sys_(sys), client_(std::move(client)), json_(json_out) {
    // nop
  }

  /// Runs one line; `quit` is set by quit/exit.
  int run_line(const std::string& line, bool& quit) {
    auto words = ops::split(line);
    if (!words)
      return complain(words.error());
    if (words->empty())
      return worked;
    auto cmd = ops::parse(*words);
    if (!cmd)
      return complain(cmd.error());
    auto& name = cmd->name();
    if (name == "quit") {
      quit = true;
      return worked;
    }
    if (name == "help") {
      std::string what;
      for (auto& w : cmd->rest)
        what += (what.empty() ? "" : " ") + w;
      std::cout << ops::help(what) << std::flush;
      return worked;
    }
    if (name == "top")
      return top(*cmd);
    if (name == "events")
      return events(*cmd);
    auto result = call(*words);
    if (!result)
      return complain(result.error());
    print(name, *result);
    return worked;
  }

  /// Ids of a kind, for completion; cached briefly so that every TAB does
  /// not ask the control.
  std::vector<std::string> ids(ops::arg_kind k) {
    using kind = ops::arg_kind;
    auto now = std::chrono::steady_clock::now();
    auto& c = cache_[k];
    if (now - c.first < 3s)
      return c.second;
    std::vector<std::string> out;
    auto pick = [&](const std::vector<std::string>& words, const char* field) {
      auto r = call(words, 2s);
      if (r && r->is_array())
        for (auto& x : *r)
          if (x.contains(field))
            out.push_back(x[field].get<std::string>());
    };
    if (k == kind::node)
      pick({"nodes"}, "name");
    else if (k == kind::sandbox)
      pick({"sandboxes"}, "id");
    else if (k == kind::team)
      pick({"teams"}, "slug");
    else if (k == kind::template_name)
      pick({"pools"}, "template");
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    c = {now, out};
    return out;
  }

  /// Joins the control now, to greet with where the shell is connected.
  caf::error hello() {
    auto r = call({"nodes"}, 10s);
    return r ? caf::none : r.error();
  }

private:
  caf::expected<json> call(const std::vector<std::string>& words,
                           std::chrono::milliseconds timeout = 40s) {
    caf::expected<json> result{json{}};
    caf::scoped_actor self{sys_};
    self->request(client_, timeout, atom::run_v, words)
      .receive(
        [&](const std::string& text) {
          auto j = json::parse(text, nullptr, false);
          if (j.is_discarded())
            result = make_error(ec::internal, "the control sent malformed "
                                              "JSON");
          else
            result = std::move(j);
        },
        [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  int complain(const caf::error& err) {
    std::cerr << "error: " << message_of(err) << "\n";
    return exit_code_of(err);
  }

  void print(const std::string& command, const json& result) {
    if (json_)
      std::cout << result.dump(2) << "\n";
    else
      std::cout << ops::render(command, result);
    std::cout << std::flush;
  }

  int top(const ops::command& cmd) {
    auto tty = ::isatty(STDOUT_FILENO) == 1 && !json_;
    long count = std::stol(cmd.option("count", tty ? "0" : "1"));
    raw_terminal term;
    json before;
    for (long frame = 0; count == 0 || frame < count; ++frame) {
      auto now = call({"top"}, 10s);
      if (!now) {
        // The control went away: say so and keep trying until q.
        if (tty)
          std::cout << "\x1b[H\x1b[2J";
        std::cout << "error: " << message_of(now.error()) << "\n" << std::flush;
        if (!tty && count != 0)
          return exit_code_of(now.error());
      } else if (json_) {
        std::cout << now->dump() << "\n" << std::flush;
      } else {
        if (tty)
          std::cout << "\x1b[H\x1b[2J";
        std::cout << ops::render_top(*now, before) << std::flush;
        before = *now;
      }
      if (count != 0 && frame + 1 >= count)
        break;
      if (term.quit_within(1s))
        break;
    }
    return worked;
  }

  int events(const ops::command& cmd) {
    long count = std::stol(cmd.option("count", "0"));
    std::string team_id;
    if (auto team = cmd.option("team"); !team.empty()) {
      auto t = call({"team", team}, 10s);
      if (!t)
        return complain(t.error());
      team_id = (*t)["id"].get<std::string>();
    }
    std::map<std::string, std::string> slugs;
    if (auto ts = call({"teams"}, 10s); ts && ts->is_array())
      for (auto& t : *ts)
        slugs[t.value("id", "")] = t.value("slug", "");
    raw_terminal term;
    caf::scoped_actor sink{sys_};
    auto subscribe = [&]() -> caf::error {
      caf::error result;
      sink->request(client_, 15s, atom::subscribe_v,
                    caf::actor_cast<caf::actor>(sink))
        .receive([](atom::ok_atom) {},
                 [&](caf::error& err) { result = std::move(err); });
      return result;
    };
    if (auto err = subscribe())
      return complain(err);
    std::cerr << "following sandbox events"
              << (::isatty(STDIN_FILENO) ? " (q to stop)" : "") << "\n";
    long seen = 0;
    bool stop = false;
    bool subscribed = true;
    while (!stop && (count == 0 || seen < count)) {
      sink->receive(
        [&](atom::event, const sandbox_info& x) {
          if (!team_id.empty() && x.team != team_id)
            return;
          auto slug = slugs.count(x.team) ? slugs[x.team] : x.team;
          json e{{"at_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now()
                               .time_since_epoch())
                             .count()},
                 {"id", x.id},
                 {"state", x.state},
                 {"reason", x.end_reason},
                 {"team", slug},
                 {"node", x.node},
                 {"template", x.template_id}};
          std::cout << (json_ ? e.dump() + "\n" : ops::render_event(e))
                    << std::flush;
          ++seen;
        },
        [&](atom::lost, const std::string& why) {
          std::cerr << "error: " << why << "; following again once it is "
                                           "back\n";
          subscribed = false;
        },
        caf::after(std::chrono::milliseconds{200}) >> [&] {
          stop = term.quit_within(std::chrono::milliseconds{0});
          if (!subscribed && !stop) {
            subscribed = !subscribe();
            if (subscribed)
              std::cerr << "following again\n";
            else
              stop = term.quit_within(1s);
          }
        });
    }
    return worked;
  }

  caf::actor_system& sys_;
  admin_client_actor client_;
  bool json_;
  std::map<ops::arg_kind,
           std::pair<std::chrono::steady_clock::time_point,
                     std::vector<std::string>>>
    cache_;
};

// -- line editing (libedit) ---------------------------------------------------

shell* completing = nullptr;
std::vector<std::string> matches;

extern "C" char* next_match(const char*, int state) {
  static size_t i;
  if (state == 0)
    i = 0;
  if (i >= matches.size())
    return nullptr;
  return ::strdup(matches[i++].c_str());
}

extern "C" char** complete_line(const char* text, int, int) {
  rl_attempted_completion_over = 1;
  std::string before(rl_line_buffer, static_cast<size_t>(rl_point));
  auto partial = std::string{text};
  auto head = before.substr(0, before.size() - std::min(before.size(),
                                                        partial.size()));
  auto words = ops::split(head);
  matches.clear();
  if (words && completing)
    matches = ops::complete(*words, partial, [](ops::arg_kind k) {
      return completing->ids(k);
    });
  // Keys of `quota set` end in '=': no space after them.
  rl_completion_append_character
    = matches.size() == 1 && !matches[0].empty() && matches[0].back() == '='
        ? '\0'
        : ' ';
  return rl_completion_matches(text, next_match);
}

std::string history_file() {
  auto home = std::getenv("HOME");
  return home ? std::string{home} + "/.sandhive_history" : "";
}

int interactive(shell& sh, const std::string& control,
                const std::string& name) {
  if (auto err = sh.hello())
    std::cerr << "error: " << message_of(err)
              << "\n(the shell keeps trying with every command)\n";
  else
    std::cout << "sandhive admin: connected to " << control << " as " << name
              << ". 'help' lists the commands, TAB completes.\n";
  completing = &sh;
  rl_readline_name = "sandhive";
  rl_attempted_completion_function = complete_line;
  auto hist = history_file();
  stifle_history(1000);
  if (!hist.empty())
    read_history(hist.c_str());
  int last = worked;
  for (;;) {
    char* raw = readline("sandhive> ");
    if (!raw) {
      std::cout << "\n";
      break;
    }
    std::string line{raw};
    std::free(raw);
    if (line.find_first_not_of(" \t") == std::string::npos)
      continue;
    add_history(line.c_str());
    interrupted = false;
    bool quit = false;
    last = sh.run_line(line, quit);
    if (quit)
      break;
  }
  if (!hist.empty())
    write_history(hist.c_str());
  completing = nullptr;
  return last;
}

/// The operator's name for the audit log: name, else user@host.
std::string operator_name(const config& cfg) {
  if (!cfg.name.empty())
    return cfg.name;
  const char* user = std::getenv("SUDO_USER");
  if (!user || !*user)
    user = std::getenv("USER");
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return std::string{user && *user ? user : "operator"} + "@" + host;
}

} // namespace

int run_admin(const config& cfg, const admin_options& opt) {
  // The shell's own log lines would only clutter its output.
  bool level_set = false;
  for (auto& e : cfg.effective)
    if (e.key == "log-level" && e.source != setting_source::defaults)
      level_set = true;
  log::init(level_set ? cfg.log_level : "error", cfg.log_format);
  std::string address = opt.connect;
  if (address.empty() && !cfg.join_host.empty())
    address = cfg.join_host + ":" + std::to_string(cfg.join_port);
  if (address.empty()) {
    std::ifstream in{cluster_address_file(cfg.data_dir)};
    std::getline(in, address);
  }
  if (address.empty()) {
    std::cerr << "sandhive: no control to connect to: give --connect "
                 "HOST:PORT (the control's cluster-listen), or --data-dir of "
                 "a sandhive running on this machine\n";
    return usage;
  }
  auto hp = parse_host_port(address);
  if (!hp) {
    std::cerr << "sandhive: --connect: expected HOST:PORT, not '" << address
              << "'\n";
    return usage;
  }
  auto secret = cluster_secret(cfg, cfg.data_dir, false);
  if (!secret) {
    std::cerr << "sandhive: " << message_of(secret.error()) << "\n";
    return usage;
  }
  auto token = admin_token(cfg, cfg.data_dir, false);
  if (!token) {
    std::cerr << "sandhive: " << message_of(token.error()) << "\n";
    return usage;
  }
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // At the prompt, Ctrl-C should not end the shell; in -c mode it stops
  // `events` and `top`.
  if (opt.command.empty())
    ::signal(SIGINT, SIG_IGN);
  else
    ::sigaction(SIGINT, &sa, nullptr);
  auto name = operator_name(cfg);
  int code = worked;
  {
    auto sys = make_actor_system(cfg, true);
    admin_client_config ac;
    ac.name = name;
    ac.host = hp->first;
    ac.port = hp->second;
    ac.middleman = cluster_middleman(*sys, cfg);
    ac.secret = *secret;
    ac.admin_token = *token;
    auto client = sys->spawn(admin_client, ac);
    {
      shell sh{*sys, client, opt.json};
      if (!opt.command.empty()) {
        bool quit = false;
        code = sh.run_line(opt.command, quit);
      } else {
        code = interactive(sh, address, name);
      }
    }
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  }
  return code;
}

} // namespace sbx
