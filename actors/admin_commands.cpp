#include "actors/admin_commands.hpp"

#include "actors/error.hpp"
#include "runtime/billing/money.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace sbx::ops {

namespace {

using kind = arg_kind;

const std::vector<std::string> states = {"starting", "running", "paused",
                                         "killed"};
const std::vector<std::string> levels = {"trace", "debug", "info",
                                         "warn",  "error", "off"};
const std::vector<std::string> plans = {"free", "pro", "enterprise"};

/// The log components of every role (see log::get callers) and "all".
const std::vector<std::string> components
  = {"all",  "admin",   "cache",  "database",  "directory", "door",
     "http", "member",  "node",   "pool",      "postgres",  "redis",
     "sandbox", "sandhive", "scheduler", "store", "supervisor", "user"};

bool one_of(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out;
}

bool is_number(const std::string& x) {
  return !x.empty() && x.size() <= 12
         && std::all_of(x.begin(), x.end(),
                        [](unsigned char c) { return std::isdigit(c); });
}

/// Ids (nodes, sandboxes, teams, templates) are short and plain; anything
/// else is a typo or worse.
bool is_id(const std::string& x) {
  return !x.empty() && x.size() <= 64
         && std::all_of(x.begin(), x.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '-' || c == '_' || c == '.';
            });
}

/// Why `x` is not a value of `k`, or "".
std::string check(kind k, const std::string& x, const std::string& what) {
  switch (k) {
    case kind::word:
      return "";
    case kind::number:
      return is_number(x) ? "" : what + " must be a whole number, not '" + x
                                   + "'";
    case kind::state:
      return one_of(states, x) ? ""
                               : what + " must be one of " + joined(states)
                                   + ", not '" + x + "'";
    case kind::level:
      return one_of(levels, x) ? ""
                               : what + " must be one of " + joined(levels)
                                   + ", not '" + x + "'";
    case kind::amount:
      return money::parse(x) && *money::parse(x) > 0
               ? ""
               : what + " must be a positive amount such as 25 or 12.50, "
                        "not '"
                   + x + "'";
    case kind::component:
      return one_of(components, x)
               ? ""
               : "unknown component '" + x + "'; one of "
                   + joined(components);
    case kind::setting: {
      auto eq = x.find('=');
      if (eq == std::string::npos)
        return what + " must be KEY=VALUE, not '" + x + "'";
      auto key = x.substr(0, eq);
      auto value = x.substr(eq + 1);
      if (!one_of(quota_keys(), key))
        return "unknown limit '" + key + "'; one of " + joined(quota_keys());
      if (key == "plan")
        return one_of(plans, value) ? ""
                                    : "plan must be one of " + joined(plans)
                                        + ", not '" + value + "'";
      if (value == "default")
        return "";
      if (!is_number(value))
        return key + " must be a whole number or 'default', not '" + value
               + "'";
      auto most = limit_maxima().at(key);
      auto n = std::stoll(value);
      if (n < 1 || n > most)
        return key + " must be from 1 to " + std::to_string(most) + ", not "
               + value
               + (key == "max_sandbox_hours"
                    ? " ('default' for the plan's; enterprise has no monthly "
                      "limit)"
                    : " ('default' for the plan's)");
      return "";
    }
    default:
      return is_id(x) ? "" : what + " '" + x + "' is not a valid id";
  }
}

/// `text` broken into lines of at most `width`, each after `indent`.
std::string wrapped(const std::string& text, const std::string& indent,
                    size_t width = 76) {
  std::istringstream in{text};
  std::string out, line;
  for (std::string w; in >> w;) {
    if (!line.empty() && indent.size() + line.size() + 1 + w.size() > width) {
      out += indent + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + w;
  }
  if (!line.empty())
    out += indent + line + "\n";
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    auto diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      auto up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// "node drain" as {"node", "drain"}.
std::vector<std::string> words_of(const std::string& name) {
  std::istringstream in{name};
  std::vector<std::string> parts;
  for (std::string w; in >> w;)
    parts.push_back(w);
  return parts;
}

/// The spec whose name the words start with (two-word names first).
const command_spec* find(const std::vector<std::string>& words,
                         size_t& used) {
  const command_spec* best = nullptr;
  for (auto& c : commands()) {
    auto parts = words_of(c.name);
    if (parts.size() > words.size()
        || !std::equal(parts.begin(), parts.end(), words.begin()))
      continue;
    if (!best || parts.size() > used) {
      best = &c;
      used = parts.size();
    }
  }
  return best;
}

std::string usage(const command_spec& c) {
  std::string out = c.name;
  for (auto& a : c.args) {
    auto name = a.name + (a.repeated ? "…" : "");
    out += " " + (a.optional ? "[" + name + "]" : name);
  }
  for (auto& o : c.options) {
    std::string upper;
    for (auto ch : o.name)
      upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    out += " [--" + o.name + " " + upper + "]";
  }
  return out;
}

/// The values of a kind: fixed sets from here, ids from the cluster.
std::vector<std::string> candidates(kind k, const id_source& ids) {
  switch (k) {
    case kind::setting: {
      std::vector<std::string> out;
      for (auto& key : quota_keys())
        out.push_back(key + "=");
      return out;
    }
    case kind::state:
      return states;
    case kind::level:
      return levels;
    case kind::component:
      return components;
    default:
      return ids(k);
  }
}

} // namespace

const std::map<std::string, int64_t>& limit_maxima() {
  // Beyond these a value is a typo, and some would not fit the limits'
  // types.
  static const std::map<std::string, int64_t> most
    = {{"max_sandboxes", 100'000},         {"max_vcpu", 256},
       {"max_memory_mb", 1'048'576},       {"max_lifetime_s", 30 * 24 * 3600},
       {"rate_create", 1'000'000},         {"rate_control", 1'000'000},
       {"max_sandbox_hours", 100'000'000}};
  return most;
}

const std::vector<std::string>& quota_keys() {
  static const std::vector<std::string> keys
    = {"plan",           "max_sandboxes", "max_vcpu",    "max_memory_mb",
       "max_lifetime_s", "rate_create",   "rate_control", "max_sandbox_hours"};
  return keys;
}

const std::vector<command_spec>& commands() {
  static const std::vector<command_spec> all = {
    {"help", {{"COMMAND", kind::word, true, true}}, {},
     "list the commands, or explain one", "", false, true},
    {"nodes", {}, {},
     "the nodes: state, vCPU, memory and sandboxes used of capacity, warm "
     "pools, last heartbeat",
     "", false, false},
    {"node cordon", {{"NAME", kind::node}}, {},
     "place no new sandboxes on a node", "", true, false},
    {"node uncordon", {{"NAME", kind::node}}, {},
     "let a cordoned or draining node take sandboxes again", "", true, false},
    {"node drain", {{"NAME", kind::node}},
     {{"deadline", kind::number, "seconds until what still runs is killed "
                                 "(default 300)"}},
     "place nothing new on a node; kill what still runs at the deadline",
     "Sandboxes on the node keep running until they end by themselves or "
     "the deadline passes; then the node kills them (reason 'node drained').",
     true, false},
    {"sandboxes", {},
     {{"team", kind::team, "only this team's (slug or id)"},
      {"node", kind::node, "only those on this node"},
      {"state", kind::state, "only those in this state"}},
     "the sandboxes of the cluster", "", false, false},
    {"sandbox", {{"ID", kind::sandbox}}, {},
     "one sandbox: details, resource use and processes", "", false, false},
    {"kill", {{"ID", kind::sandbox}}, {}, "kill a sandbox", "", true, false},
    {"teams", {}, {}, "the teams: plan, sandboxes running, balance", "", false,
     false},
    {"team", {{"TEAM", kind::team}}, {},
     "one team: limits, what it runs, usage this month, balance", "", false,
     false},
    {"quota set", {{"TEAM", kind::team}, {"KEY=VALUE", kind::setting, false, true}},
     {},
     "change a team's plan or limits",
     "Keys: plan (free, pro, enterprise), max_sandboxes, max_vcpu, "
     "max_memory_mb, max_lifetime_s, rate_create and rate_control (requests "
     "per second through the gateways), max_sandbox_hours (a calendar "
     "month). A value of 'default' removes the "
     "team's override so that its plan's limit applies. Takes effect at "
     "once for new sandboxes.",
     true, false},
    {"credit", {{"TEAM", kind::team}, {"AMOUNT", kind::amount},
                {"NOTE", kind::word, true, true}},
     {},
     "add prepaid credit to a team's balance",
     "AMOUNT is in units of currency (12.50); the note (an order number, a "
     "reason) goes into the ledger. A team whose balance was used up can "
     "create sandboxes again at once.",
     true, false},
    {"pools", {}, {}, "the warm pools of every node: ready and target", "",
     false, false},
    {"pool set", {{"TEMPLATE", kind::template_name}, {"SIZE", kind::number}},
     {{"node", kind::node, "only this node (default: every node)"}},
     "change how many warm sandboxes of a template nodes keep", "", true,
     false},
    {"top", {},
     {{"count", kind::number, "frames to show (default: until q on a "
                              "terminal, else 1)"}},
     "a live view of the cluster, refreshed every second until q",
     "Cluster totals, creates per second, the busiest nodes and teams.",
     false, false},
    {"events", {},
     {{"team", kind::team, "only this team's (slug or id)"},
      {"count", kind::number, "stop after this many events"}},
     "follow sandbox lifecycle events live (until q or Ctrl-C)", "", false,
     false},
    {"log-level", {{"COMPONENT", kind::component}, {"LEVEL", kind::level}}, {},
     "change a component's log level in every process, at once",
     "COMPONENT is a logger name as log lines show it (scheduler, node, "
     "http, …) or 'all'.",
     true, false},
    {"quit", {}, {}, "leave the shell (also: exit, Ctrl-D)", "", false, true},
  };
  return all;
}

std::string command::arg(const std::string& name) const {
  auto i = args.find(name);
  return i == args.end() ? std::string{} : i->second;
}

std::string command::option(const std::string& name,
                            const std::string& fallback) const {
  auto i = options.find(name);
  return i == options.end() ? fallback : i->second;
}

caf::expected<command> parse(const std::vector<std::string>& words) {
  if (words.empty())
    return make_error(ec::invalid_argument, "no command; try 'help'");
  auto typed = words;
  if (typed[0] == "exit")
    typed[0] = "quit";
  size_t used = 0;
  auto spec = find(typed, used);
  if (!spec) {
    auto what = words[0] + (words.size() > 1 && words[0] != "help"
                              ? " " + words[1]
                              : "");
    auto guess = nearest(what);
    if (guess.empty())
      guess = nearest(words[0]);
    return make_error(ec::invalid_argument,
                      "unknown command '" + what + "'"
                        + (guess.empty() ? "" : "; did you mean '" + guess
                                                  + "'?")
                        + " ('help' lists them)");
  }
  command cmd;
  cmd.spec = spec;
  std::vector<std::string> positional;
  for (size_t i = used; i < typed.size(); ++i) {
    auto& w = typed[i];
    if (w.size() > 2 && w.compare(0, 2, "--") == 0) {
      auto name = w.substr(2);
      std::string value;
      auto eq = name.find('=');
      bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      auto o = std::find_if(spec->options.begin(), spec->options.end(),
                            [&](const option_spec& x) { return x.name == name; });
      if (o == spec->options.end())
        return make_error(ec::invalid_argument,
                          "'" + spec->name + "' has no option --" + name
                            + "; usage: " + usage(*spec));
      if (!inline_value) {
        if (i + 1 >= typed.size())
          return make_error(ec::invalid_argument,
                            "--" + name + " needs a value; usage: "
                              + usage(*spec));
        value = typed[++i];
      }
      if (auto why = check(o->kind, value, "--" + name); !why.empty())
        return make_error(ec::invalid_argument, why);
      cmd.options[name] = value;
      continue;
    }
    positional.push_back(w);
  }
  size_t next = 0;
  for (auto& a : spec->args) {
    if (a.repeated) {
      for (; next < positional.size(); ++next) {
        if (auto why = check(a.kind, positional[next], a.name); !why.empty())
          return make_error(ec::invalid_argument, why);
        cmd.rest.push_back(positional[next]);
      }
      if (cmd.rest.empty() && !a.optional)
        return make_error(ec::invalid_argument, "missing " + a.name
                                                  + "; usage: "
                                                  + usage(*spec));
      continue;
    }
    if (next >= positional.size()) {
      if (a.optional)
        continue;
      return make_error(ec::invalid_argument,
                        "missing " + a.name + "; usage: " + usage(*spec));
    }
    if (auto why = check(a.kind, positional[next], a.name); !why.empty())
      return make_error(ec::invalid_argument, why);
    cmd.args[a.name] = positional[next++];
  }
  if (next < positional.size())
    return make_error(ec::invalid_argument,
                      "unexpected '" + positional[next] + "'; usage: "
                        + usage(*spec));
  return cmd;
}

caf::expected<std::vector<std::string>> split(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    auto c = line[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size())
        word += line[++i];
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word)
        words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote)
    return make_error(ec::invalid_argument,
                      std::string{"unterminated "}
                        + (quote == '"' ? "double" : "single") + " quote");
  if (in_word)
    words.push_back(std::move(word));
  return words;
}

std::string nearest(const std::string& typed) {
  std::string best;
  size_t best_d = 0;
  for (auto& c : commands()) {
    auto d = edit_distance(typed, c.name);
    // Also a command that the typed word starts, or that starts with it.
    if (c.name.compare(0, typed.size(), typed) == 0 && !typed.empty())
      d = std::min<size_t>(d, 1);
    if (best.empty() || d < best_d) {
      best = c.name;
      best_d = d;
    }
  }
  // Close enough to be a typo: at most a third of the word wrong.
  return best_d <= std::max<size_t>(2, typed.size() / 3) ? best : "";
}

std::string help(const std::string& name) {
  std::ostringstream out;
  if (name.empty()) {
    out << "Commands (help COMMAND for more):\n";
    size_t width = 0;
    for (auto& c : commands())
      width = std::max(width, usage(c).size());
    width = std::min<size_t>(width, 44);
    for (auto& c : commands()) {
      auto u = usage(c);
      out << "  " << u;
      if (u.size() < width)
        out << std::string(width - u.size(), ' ');
      else
        out << "\n  " << std::string(width, ' ');
      out << "  " << c.summary << "\n";
    }
    return out.str();
  }
  for (auto& c : commands()) {
    if (c.name != name)
      continue;
    out << "usage: " << usage(c) << "\n" << wrapped(c.summary, "  ");
    if (!c.details.empty())
      out << "\n" << wrapped(c.details, "  ");
    if (!c.options.empty()) {
      out << "\noptions:\n";
      for (auto& o : c.options)
        out << "  --" << o.name << "  " << o.help << "\n";
    }
    if (c.changes)
      out << "\nWritten to the audit log with your operator name.\n";
    return out.str();
  }
  auto guess = nearest(name);
  return "no command '" + name + "'"
         + (guess.empty() ? "" : "; did you mean '" + guess + "'?") + "\n";
}

std::vector<std::string> complete(const std::vector<std::string>& words,
                                  const std::string& partial,
                                  const id_source& ids) {
  std::set<std::string> out;
  auto add = [&](const std::string& x) {
    if (x.compare(0, partial.size(), partial) == 0)
      out.insert(x);
  };
  size_t used = 0;
  auto spec = find(words, used);
  if (!spec) {
    // Completing the command itself: its first or second word.
    for (auto& c : commands()) {
      auto parts = words_of(c.name);
      if (parts.size() > words.size()
          && std::equal(words.begin(), words.end(), parts.begin()))
        add(parts[words.size()]);
    }
    if (words.empty())
      add("exit");
    return {out.begin(), out.end()};
  }
  if (spec->name == "help") {
    for (auto& c : commands())
      add(c.name.substr(0, c.name.find(' ')));
    return {out.begin(), out.end()};
  }
  // An option's value?
  if (words.size() > used && words.back().compare(0, 2, "--") == 0
      && words.back().find('=') == std::string::npos) {
    auto name = words.back().substr(2);
    for (auto& o : spec->options)
      if (o.name == name) {
        for (auto& x : candidates(o.kind, ids))
          add(x);
        return {out.begin(), out.end()};
      }
  }
  if (partial.compare(0, 2, "--") == 0 || partial == "-") {
    for (auto& o : spec->options)
      add("--" + o.name);
    return {out.begin(), out.end()};
  }
  // Which argument is being typed: count the positional words so far.
  size_t n = 0;
  for (size_t i = used; i < words.size(); ++i) {
    if (words[i].compare(0, 2, "--") == 0) {
      if (words[i].find('=') == std::string::npos)
        ++i; // its value
      continue;
    }
    ++n;
  }
  const arg_spec* a = nullptr;
  for (auto& x : spec->args) {
    if (x.repeated || n == 0) {
      a = &x;
      break;
    }
    --n;
  }
  if (a)
    for (auto& x : candidates(a->kind, ids))
      add(x);
  for (auto& o : spec->options)
    if (!partial.empty() && partial[0] == '-')
      add("--" + o.name);
  return {out.begin(), out.end()};
}

} // namespace sbx::ops
