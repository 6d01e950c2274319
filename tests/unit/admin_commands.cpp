// The operators' command language: parsing and checking, suggestions,
// quoting, help and completion.

#include "actors/admin_commands.hpp"
#include "actors/error.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;
using ops::arg_kind;

namespace {

std::vector<std::string> words(const std::string& line) {
  auto w = ops::split(line);
  BOOST_REQUIRE(w);
  return *w;
}

/// The error message of parsing `line`; "" when it parses.
std::string refusal(const std::string& line) {
  auto cmd = ops::parse(words(line));
  if (cmd)
    return "";
  BOOST_CHECK(cmd.error() == ec::invalid_argument);
  return message_of(cmd.error());
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

std::vector<std::string> ids(arg_kind k) {
  switch (k) {
    case arg_kind::node:
      return {"n1", "n2", "gpu-1"};
    case arg_kind::team:
      return {"default", "acme"};
    case arg_kind::sandbox:
      return {"abc123", "abd456"};
    default:
      return {};
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(admin_commands)

BOOST_AUTO_TEST_CASE(commands_parse_into_their_arguments_and_options) {
  auto cmd = ops::parse(words("node drain n1 --deadline 30"));
  BOOST_REQUIRE(cmd);
  BOOST_CHECK_EQUAL(cmd->name(), "node drain");
  BOOST_CHECK_EQUAL(cmd->arg("NAME"), "n1");
  BOOST_CHECK_EQUAL(cmd->option("deadline"), "30");
  BOOST_CHECK(cmd->spec->changes);
  cmd = ops::parse(words("sandboxes --state=paused --team acme"));
  BOOST_REQUIRE(cmd);
  BOOST_CHECK_EQUAL(cmd->option("state"), "paused");
  BOOST_CHECK_EQUAL(cmd->option("team"), "acme");
  BOOST_CHECK_EQUAL(cmd->option("node", "any"), "any");
  cmd = ops::parse(words("quota set acme max_sandboxes=50 plan=pro"));
  BOOST_REQUIRE(cmd);
  BOOST_CHECK_EQUAL(cmd->arg("TEAM"), "acme");
  BOOST_CHECK((cmd->rest == std::vector<std::string>{"max_sandboxes=50",
                                                      "plan=pro"}));
  cmd = ops::parse(words("pool set base 3 --node n2"));
  BOOST_REQUIRE(cmd);
  BOOST_CHECK_EQUAL(cmd->arg("SIZE"), "3");
  BOOST_CHECK(ops::parse(words("exit"))->name() == "quit");
  BOOST_CHECK(ops::parse(words("help node drain"))->rest.size() == 2);
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_with_what_is_wrong) {
  BOOST_CHECK(contains(refusal("nods"), "did you mean 'nodes'"));
  BOOST_CHECK(contains(refusal("node drian n1"), "did you mean 'node drain'"));
  BOOST_CHECK(contains(refusal("sandboxs"), "did you mean 'sandboxes'"));
  BOOST_CHECK(contains(refusal("frobnicate"), "unknown command 'frobnicate'"));
  BOOST_CHECK(!contains(refusal("frobnicate"), "did you mean"));
  BOOST_CHECK(contains(refusal("kill"), "missing ID"));
  BOOST_CHECK(contains(refusal("nodes n1"), "unexpected 'n1'"));
  BOOST_CHECK(contains(refusal("pool set base lots"),
                       "SIZE must be a whole number"));
  BOOST_CHECK(contains(refusal("node drain n1 --deadline -5"),
                       "--deadline must be a whole number"));
  BOOST_CHECK(contains(refusal("node drain n1 --deadline"), "needs a value"));
  BOOST_CHECK(contains(refusal("node drain n1 --force"),
                       "has no option --force"));
  BOOST_CHECK(contains(refusal("sandboxes --state sleeping"),
                       "must be one of starting, running"));
  BOOST_CHECK(contains(refusal("log-level scheduler loud"),
                       "must be one of trace"));
  BOOST_CHECK(contains(refusal("log-level everything info"),
                       "unknown component"));
  BOOST_CHECK(contains(refusal("quota set acme"), "missing KEY=VALUE"));
  BOOST_CHECK(contains(refusal("quota set acme max_cpu=2"),
                       "unknown limit 'max_cpu'"));
  BOOST_CHECK(contains(refusal("quota set acme max_vcpu=two"),
                       "whole number or 'default'"));
  BOOST_CHECK(contains(refusal("quota set acme plan=gold"),
                       "plan must be one of"));
  BOOST_CHECK(contains(refusal("sandbox 'a b'"), "is not a valid id"));
  BOOST_CHECK(contains(refusal(""), "no command"));
  BOOST_CHECK_EQUAL(refusal("quota set acme max_vcpu=default"), "");
  // Negative, zero and absurd limits.
  BOOST_CHECK(contains(refusal("quota set acme max_sandboxes=-1"),
                       "whole number or 'default'"));
  BOOST_CHECK(contains(refusal("quota set acme max_sandboxes=0"),
                       "must be from 1 to 100000, not 0"));
  BOOST_CHECK(contains(refusal("quota set acme max_vcpu=999999999999"),
                       "must be from 1 to 256"));
  BOOST_CHECK(contains(refusal("quota set acme max_sandbox_hours=0"),
                       "enterprise has no monthly limit"));
  BOOST_CHECK_EQUAL(refusal("quota set acme max_lifetime_s=2592000"), "");
  for (auto& [key, most] : ops::limit_maxima())
    BOOST_CHECK_EQUAL(refusal("quota set acme " + key + "="
                              + std::to_string(most)),
                      "");
}

BOOST_AUTO_TEST_CASE(lines_split_like_a_shell) {
  BOOST_CHECK((words("  kill   abc  ") == std::vector<std::string>{"kill",
                                                                    "abc"}));
  BOOST_CHECK((words(R"(a "b c" 'd e' f\ g "h\"i")")
               == std::vector<std::string>{"a", "b c", "d e", "f g", "h\"i"}));
  BOOST_CHECK((words(R"(x "")") == std::vector<std::string>{"x", ""}));
  BOOST_CHECK(!ops::split("kill 'abc"));
  BOOST_CHECK(!ops::split("kill \"abc"));
}

BOOST_AUTO_TEST_CASE(help_lists_every_command_and_explains_one) {
  auto all = ops::help();
  for (auto& c : ops::commands())
    BOOST_CHECK_MESSAGE(contains(all, c.name), c.name);
  auto one = ops::help("quota set");
  BOOST_CHECK(contains(one, "usage: quota set TEAM KEY=VALUE…"));
  BOOST_CHECK(contains(one, "audit log"));
  BOOST_CHECK(contains(ops::help("node drian"), "did you mean 'node drain'"));
  for (auto& line : [&] {
         std::vector<std::string> lines;
         std::istringstream in{one};
         for (std::string l; std::getline(in, l);)
           lines.push_back(l);
         return lines;
       }())
    BOOST_CHECK_MESSAGE(line.size() <= 80, line);
}

BOOST_AUTO_TEST_CASE(completion_offers_commands_options_and_ids) {
  auto c = [](std::vector<std::string> ws, std::string partial) {
    return ops::complete(ws, partial, ids);
  };
  using v = std::vector<std::string>;
  BOOST_CHECK((c({}, "no") == v{"node", "nodes"}));
  BOOST_CHECK((c({"node"}, "") == v{"cordon", "drain", "uncordon"}));
  BOOST_CHECK((c({"node"}, "d") == v{"drain"}));
  BOOST_CHECK((c({"node", "drain"}, "") == v{"gpu-1", "n1", "n2"}));
  BOOST_CHECK((c({"node", "drain"}, "n") == v{"n1", "n2"}));
  BOOST_CHECK((c({"node", "drain", "n1"}, "--") == v{"--deadline"}));
  BOOST_CHECK((c({"sandboxes", "--team"}, "") == v{"acme", "default"}));
  BOOST_CHECK((c({"sandboxes", "--state"}, "p") == v{"paused"}));
  BOOST_CHECK((c({"sandboxes"}, "--") == v{"--node", "--state", "--team"}));
  BOOST_CHECK((c({"kill"}, "abd") == v{"abd456"}));
  BOOST_CHECK((c({"quota", "set", "acme"}, "max_v") == v{"max_vcpu="}));
  BOOST_CHECK((c({"quota", "set", "acme", "plan=pro"}, "max_s")
               == v{"max_sandbox_hours=", "max_sandboxes="}));
  BOOST_CHECK((c({"log-level"}, "sch") == v{"scheduler"}));
  BOOST_CHECK((c({"log-level", "scheduler"}, "d") == v{"debug"}));
  BOOST_CHECK((c({"help"}, "qu") == v{"quit", "quota"}));
}

BOOST_AUTO_TEST_CASE(the_nearest_command_is_a_close_one_or_none) {
  BOOST_CHECK_EQUAL(ops::nearest("teem"), "team");
  BOOST_CHECK_EQUAL(ops::nearest("sandboxes"), "sandboxes");
  BOOST_CHECK_EQUAL(ops::nearest("log"), "log-level");
  BOOST_CHECK_EQUAL(ops::nearest("xyzzyplugh"), "");
}

BOOST_AUTO_TEST_SUITE_END()
