#pragma once

#include <caf/expected.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

/// The operators' command language, shared by the shell (`sandhive admin`:
/// help, completion, checking what is typed before it is sent) and the
/// admin actor (which checks it again: it trusts no shell). Plain C++, no
/// actors.
namespace sbx::ops {

/// What an argument holds. Ids are completed in the shell by kind.
enum class arg_kind {
  /// Any word.
  word,
  /// A whole number, 0 or more.
  number,
  node,
  sandbox,
  team,
  template_name,
  /// starting, running, paused or killed.
  state,
  /// trace, debug, info, warn, error or off.
  level,
  /// A log component (scheduler, directory, node, http, …) or all.
  component,
  /// A limit as KEY=VALUE (see `quota set`).
  setting,
  /// An amount of money: "12", "12.50" (at most six decimals).
  amount,
};

struct arg_spec {
  /// As help shows it: NAME, ID, TEAM, …
  std::string name;
  arg_kind kind = arg_kind::word;
  bool optional = false;
  /// Takes every remaining word (the last argument only).
  bool repeated = false;
};

struct option_spec {
  /// Without the dashes: "deadline" for --deadline.
  std::string name;
  arg_kind kind = arg_kind::word;
  std::string help;
};

struct command_spec {
  /// One or two words: "nodes", "node drain".
  std::string name;
  std::vector<arg_spec> args;
  std::vector<option_spec> options;
  /// One line for the list of commands.
  std::string summary;
  /// More, for `help COMMAND`; may be empty.
  std::string details;
  /// Changes the cluster: the control writes it to the audit log.
  bool changes = false;
  /// Answered by the shell itself (help, quit).
  bool local = false;
};

/// Every command, in the order help lists them.
const std::vector<command_spec>& commands();

/// A command as typed, checked against its spec.
struct command {
  const command_spec* spec = nullptr;
  /// By argument name; a repeated argument's words are in `rest`.
  std::map<std::string, std::string> args;
  std::vector<std::string> rest;
  /// By option name, without the dashes.
  std::map<std::string, std::string> options;

  const std::string& name() const {
    return spec->name;
  }

  /// The argument, or "" when an optional one is missing.
  std::string arg(const std::string& name) const;

  /// The option, or `fallback` when not given.
  std::string option(const std::string& name,
                     const std::string& fallback = "") const;
};

/// Parses the words of a command: the command itself, its arguments and
/// `--option VALUE` (or `--option=VALUE`) pairs, each checked against its
/// kind. Errors (ec::invalid_argument) say what is wrong and, for an
/// unknown command, which one was probably meant.
caf::expected<command> parse(const std::vector<std::string>& words);

/// Splits a line into words as a POSIX shell would: blanks separate,
/// single and double quotes group, a backslash escapes.
caf::expected<std::vector<std::string>> split(const std::string& line);

/// The command name closest to `typed` (by edit distance), or "" when none
/// is close.
std::string nearest(const std::string& typed);

/// The help text: the list of commands, or one command in full.
std::string help(const std::string& command = "");

/// Ids of a kind (node names, sandbox ids, team slugs, …) for completion.
using id_source = std::function<std::vector<std::string>(arg_kind)>;

/// What may come next: `words` are complete, `partial` is the word being
/// typed. Command names, option names and the ids of the argument's kind,
/// those that start with `partial`, sorted.
std::vector<std::string> complete(const std::vector<std::string>& words,
                                  const std::string& partial,
                                  const id_source& ids);

/// The settings `quota set` takes.
const std::vector<std::string>& quota_keys();

/// The largest value of each numeric setting of `quota set` (the least is
/// 1; `default` drops an override).
const std::map<std::string, int64_t>& limit_maxima();

} // namespace sbx::ops
