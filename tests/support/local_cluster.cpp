#include "tests/support/local_cluster.hpp"

#include <boost/test/unit_test.hpp>

#include "runtime/auth/api_key.hpp"
#include "runtime/embedded/process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/services.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <fstream>
#include <iostream>

#include <unistd.h>

namespace sbx::test {

using namespace std::chrono_literals;

local_cluster::local_cluster(options opts)
  : opts_(std::move(opts)), dir_(std::make_unique<temp_dir>()) {
  cluster_port_ = embedded::pick_free_port();
  db_url_ = fresh_database(opts_.name + "_" + std::to_string(::getpid()));
  for (size_t i = 0; i < opts_.gateways; ++i)
    gateway_ports_.push_back(embedded::pick_free_port());
  if (opts_.metrics) {
    metrics_ports_["control"] = embedded::pick_free_port();
    for (auto& n : opts_.nodes)
      metrics_ports_[n] = embedded::pick_free_port();
  }
}

local_cluster::~local_cluster() {
  // Gateways and nodes first, so that nothing rejoins a dying control.
  for (auto& g : gateways)
    if (g)
      g->signal(SIGTERM);
  for (auto& [name, n] : nodes)
    if (n)
      n->signal(SIGTERM);
  for (auto& g : gateways)
    if (g)
      g->wait_for(20s);
  for (auto& [name, n] : nodes)
    if (n)
      n->wait_for(20s);
  if (control) {
    control->signal(SIGTERM);
    control->wait_for(20s);
  }
}

std::string local_cluster::dir() const {
  return dir_->path();
}

std::string local_cluster::secret_file() const {
  return dir() + "/control/cluster-secret";
}

std::string local_cluster::admin_token_file() const {
  return dir() + "/control/admin-token";
}

std::string local_cluster::logs(const subprocess& p) {
  return p.out() + p.err();
}

void local_cluster::start_control() {
  auto& svc = services::get();
  std::vector<std::string> args{
    sandhive_binary(), "control", "--data-dir", dir() + "/control",
    "--cluster-listen", "127.0.0.1:" + std::to_string(cluster_port_),
    "--postgres-url", db_url_, "--redis-url", svc.redis().url()};
  if (opts_.metrics) {
    args.push_back("--metrics-listen");
    args.push_back("127.0.0.1:" + std::to_string(metrics_ports_["control"]));
  }
  args.insert(args.end(), opts_.extra.begin(), opts_.extra.end());
  control = std::make_unique<subprocess>(args);
}

void local_cluster::start_node(const std::string& name,
                               const std::string& secret,
                               const std::string& slot,
                               std::optional<std::vector<std::string>> extra) {
  auto key = slot.empty() ? name : slot;
  std::vector<std::string> args{
    sandhive_binary(), "node", "--data-dir", dir() + "/" + key, "--join",
    "127.0.0.1:" + std::to_string(cluster_port_), "--name", name,
    "--cluster-secret-file", secret.empty() ? secret_file() : secret,
    "--pool-size", "1", "--capacity-vcpu", "64"};
  if (opts_.metrics && metrics_ports_.count(name) && slot.empty()) {
    args.push_back("--metrics-listen");
    args.push_back("127.0.0.1:" + std::to_string(metrics_ports_[name]));
  }
  auto& more = extra ? *extra : opts_.extra;
  args.insert(args.end(), more.begin(), more.end());
  nodes[key] = std::make_unique<subprocess>(args);
}

bool local_cluster::control_said(const std::string& what, size_t times) const {
  if (!control)
    return false;
  auto text = logs(*control);
  size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + 1))
    ++n;
  return n >= times;
}

bool local_cluster::start(std::string& why) {
  start_control();
  if (!eventually(
        [&] {
          return std::ifstream{secret_file()}.good()
                 && control_said("control 0.1.0 is up");
        },
        60s)) {
    why = "the control did not start: " + logs(*control);
    return false;
  }
  std::ifstream in{dir() + "/control/api-key"};
  std::getline(in, key);
  for (auto& n : opts_.nodes)
    start_node(n);
  for (size_t i = 0; i < opts_.gateways; ++i) {
    std::vector<std::string> args{
      sandhive_binary(), "gateway", "--join",
      "127.0.0.1:" + std::to_string(cluster_port_), "--listen",
      "127.0.0.1:" + std::to_string(gateway_ports_[i]), "--name",
      "g" + std::to_string(i + 1), "--cluster-secret-file", secret_file()};
    args.insert(args.end(), opts_.extra.begin(), opts_.extra.end());
    gateways.push_back(std::make_unique<subprocess>(args));
  }
  auto all_joined = [&] {
    for (auto& n : opts_.nodes)
      if (!control_said("node " + n + " joined"))
        return false;
    return true;
  };
  if (!eventually(all_joined, 90s)) {
    why = "the nodes did not join: " + logs(*control);
    for (auto& [name, n] : nodes)
      why += "\n--- " + name + ":\n" + logs(*n);
    return false;
  }
  for (size_t g = 0; g < gateway_ports_.size(); ++g)
    if (!eventually([&] { return api(g, "GET", "/templates").status == 200; },
                    30s)) {
      why = "gateway " + std::to_string(g) + " does not answer: "
            + logs(*gateways[g]);
      return false;
    }
  return true;
}

bool local_cluster::ready(std::chrono::seconds timeout) const {
  return eventually(
    [&] {
      for (size_t g = 0; g < gateway_ports_.size(); ++g) {
        if (api(g, "GET", "/ready").status != 200)
          return false;
        auto t = api(g, "GET", "/templates");
        if (t.status != 200 || t.body.find("\"base\"") == std::string::npos)
          return false;
      }
      return true;
    },
    timeout);
}

http_reply local_cluster::api(size_t g, const std::string& method,
                              const std::string& target,
                              const std::string& body,
                              const std::string& k) const {
  return http_request(gateway_ports_.at(g), method, target, body,
                      {{"X-API-KEY", k.empty() ? key : k},
                       {"Content-Type", "application/json"}},
                      30s);
}

std::pair<std::string, std::string>
local_cluster::create(size_t g, const std::string& k) const {
  auto r = api(g, "POST", "/v2/sandboxes",
               R"({"templateID":"base","timeout":300})", k);
  if (r.status != 201) {
    // Shown with the failing test's output: why, not just that.
    std::cerr << "create through gateway " << g << " answered " << r.status
              << ": " << r.body << "\n";
    return {};
  }
  auto j = nlohmann::json::parse(r.body);
  return {j["sandboxID"], j["envdAccessToken"]};
}

void local_cluster::kill_all(const std::string& k) const {
  auto r = api(0, "GET", "/v2/sandboxes", "", k);
  auto list = nlohmann::json::parse(r.body, nullptr, false);
  if (!list.is_array())
    return;
  for (auto& x : list)
    api(0, "DELETE", "/sandboxes/" + x["sandboxID"].get<std::string>(), "",
        k);
}

std::string local_cluster::team(const std::string& slug,
                                const std::string& limits) const {
  auto k = auth::generate_api_key();
  pqxx::connection c{db_url_};
  pqxx::work tx{c};
  auto id = tx.exec_params1("INSERT INTO teams (slug, name, limits) VALUES "
                            "($1, $1, $2::jsonb) RETURNING id",
                            slug, limits)[0]
              .as<std::string>();
  tx.exec_params("INSERT INTO api_keys (team_id, name, key_hash, "
                 "key_prefix, scopes) VALUES ($1, 'k', $2, $3, '{*}')",
                 id, k.hash, k.prefix);
  tx.commit();
  return k.secret;
}

std::vector<std::string>
local_cluster::admin_args(const std::string& name) const {
  std::vector<std::string> args{
    sandhive_binary(),       "admin",
    "--connect",             "127.0.0.1:" + std::to_string(cluster_port_),
    "--cluster-secret-file", secret_file(),
    "--admin-token-file",    admin_token_file(),
    "--name",                name};
  args.insert(args.end(), opts_.extra.begin(), opts_.extra.end());
  return args;
}

local_cluster::admin_result
local_cluster::admin(const std::string& cmd, bool json, const std::string& name,
                     std::vector<std::string> extra) const {
  auto args = admin_args(name);
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("-c");
  args.push_back(cmd);
  if (json)
    args.push_back("--json");
  subprocess p{args};
  admin_result r;
  r.code = p.exit_code(60s);
  r.out = p.out();
  r.err = p.err();
  return r;
}

void start_once(std::unique_ptr<local_cluster>& c,
                const local_cluster::options& opts) {
  if (c)
    return;
  c = std::make_unique<local_cluster>(opts);
  std::string why;
  BOOST_REQUIRE_MESSAGE(c->start(why), why);
}

} // namespace sbx::test
