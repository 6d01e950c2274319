// Money on PostgreSQL: invoice lines priced in the database's exact numeric
// arithmetic (each rounded down to a micro-unit once), charges and credits
// as ledger lines changing the balance in the same transaction, invoices
// kept as they were when their month ended.

#include "runtime/store/pg_store.hpp"

namespace sbx {

namespace {

/// The month of `month` ("2026-12-01") as a UTC range, in SQL, for
/// parameter $2.
constexpr const char* in_month
  = "period_start >= ($2::date)::timestamp AT TIME ZONE 'UTC' "
    "AND period_start < (($2::date) + interval '1 month')::timestamp AT TIME "
    "ZONE 'UTC'";

/// One line per sandbox of team $1 in month $2 at prices $3 (vCPU-hour),
/// $4 (GiB-hour of memory), $5 (GiB-month of disk, 30 days).
std::string lines_query() {
  return std::string{"SELECT sandbox_id, min(template_id), "
                     "COALESCE(sum(extract(epoch FROM period_end - "
                     "period_start) * 1000), 0)::bigint, "
                     "sum(vcpu_ms)::bigint, sum(memory_mib_ms)::bigint, "
                     "sum(disk_mib_ms)::bigint, "
                     "floor(sum(vcpu_ms)::numeric * $3 / 3600000)::bigint, "
                     "floor(sum(memory_mib_ms)::numeric * $4 / "
                     "(3600000::numeric * 1024))::bigint, "
                     "floor(sum(disk_mib_ms)::numeric * $5 / "
                     "(2592000000::numeric * 1024))::bigint "
                     "FROM usage_records WHERE team_id::text = $1 AND "}
         + in_month + " GROUP BY sandbox_id ORDER BY sandbox_id";
}

std::vector<invoice_line> lines_of(const pqxx::result& rows) {
  std::vector<invoice_line> out;
  for (auto row : rows) {
    invoice_line l;
    l.sandbox_id = row[0].as<std::string>();
    l.template_id = row[1].as<std::string>();
    l.sandbox_ms = row[2].as<uint64_t>();
    l.vcpu_ms = row[3].as<uint64_t>();
    l.memory_mib_ms = row[4].as<uint64_t>();
    l.disk_mib_ms = row[5].as<uint64_t>();
    l.vcpu_micros = row[6].as<int64_t>();
    l.memory_micros = row[7].as<int64_t>();
    l.disk_micros = row[8].as<int64_t>();
    l.amount_micros = l.vcpu_micros + l.memory_micros + l.disk_micros;
    out.push_back(l);
  }
  return out;
}

template <class Tx>
std::vector<invoice_line> query_lines(Tx& tx, const std::string& team_id,
                                      const std::string& month,
                                      const price_list& p) {
  return lines_of(tx.exec_params(lines_query(), team_id, month,
                                 static_cast<long long>(p.vcpu_hour),
                                 static_cast<long long>(p.memory_gib_hour),
                                 static_cast<long long>(p.disk_gib_month)));
}

nlohmann::json lines_json(const std::vector<invoice_line>& lines) {
  auto out = nlohmann::json::array();
  for (auto& l : lines)
    out.push_back({{"sandbox", l.sandbox_id},
                   {"template", l.template_id},
                   {"sandbox_ms", l.sandbox_ms},
                   {"vcpu_ms", l.vcpu_ms},
                   {"memory_mib_ms", l.memory_mib_ms},
                   {"disk_mib_ms", l.disk_mib_ms},
                   {"vcpu_micros", l.vcpu_micros},
                   {"memory_micros", l.memory_micros},
                   {"disk_micros", l.disk_micros},
                   {"amount_micros", l.amount_micros}});
  return out;
}

invoice stored_invoice(const pqxx::row& row) {
  invoice inv;
  inv.team_id = row[0].as<std::string>();
  inv.month = row[1].as<std::string>();
  inv.status = "final";
  inv.total_micros = row[2].as<int64_t>();
  auto lines = nlohmann::json::parse(row[3].as<std::string>(), nullptr, false);
  if (lines.is_array())
    for (auto& j : lines)
      inv.lines.push_back({j.value("sandbox", ""), j.value("template", ""),
                           j.value("sandbox_ms", uint64_t{0}),
                           j.value("vcpu_ms", uint64_t{0}),
                           j.value("memory_mib_ms", uint64_t{0}),
                           j.value("disk_mib_ms", uint64_t{0}),
                           j.value("vcpu_micros", int64_t{0}),
                           j.value("memory_micros", int64_t{0}),
                           j.value("disk_micros", int64_t{0}),
                           j.value("amount_micros", int64_t{0})});
  auto prices = nlohmann::json::parse(row[4].as<std::string>(), nullptr, false);
  if (prices.is_object())
    inv.prices = {prices.value("vcpu_hour", int64_t{0}),
                  prices.value("memory_gib_hour", int64_t{0}),
                  prices.value("disk_gib_month", int64_t{0})};
  return inv;
}

const char* invoice_columns
  = "SELECT team_id::text, to_char(month, 'YYYY-MM'), total_micros, "
    "lines::text, prices::text FROM invoices ";

/// The team row locked for this transaction: (balance, frozen since ms).
std::pair<int64_t, int64_t> lock_team(pqxx::work& tx, const std::string& id) {
  auto row = tx.exec_params1(
    "SELECT balance_micros, COALESCE((extract(epoch FROM billing_frozen_at) "
    "* 1000)::bigint, 0) FROM teams WHERE id::text = $1 FOR UPDATE",
    id);
  return {row[0].as<int64_t>(), row[1].as<int64_t>()};
}

/// Freezes a team whose balance ran out, unfreezes one with credit again;
/// answers when it froze (0: it is not frozen).
int64_t refreeze(pqxx::work& tx, const std::string& id, int64_t balance,
                 int64_t frozen_since) {
  if (balance <= 0 && frozen_since == 0)
    return tx.exec_params1("UPDATE teams SET billing_frozen_at = now() WHERE "
                           "id::text = $1 RETURNING (extract(epoch FROM "
                           "billing_frozen_at) * 1000)::bigint",
                           id)[0]
      .as<int64_t>();
  if (balance > 0 && frozen_since != 0) {
    tx.exec_params("UPDATE teams SET billing_frozen_at = NULL WHERE id::text "
                   "= $1",
                   id);
    return 0;
  }
  return frozen_since;
}

} // namespace

caf::expected<std::vector<invoice_line>>
pg_store::invoice_lines(const std::string& team_id, const std::string& month,
                        const price_list& prices) {
  std::vector<invoice_line> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    out = query_lines(tx, team_id, month, prices);
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

caf::expected<charge_result>
pg_store::charge_usage(const std::string& team_id, const std::string& month,
                       const price_list& prices) {
  charge_result out;
  out.team_id = team_id;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    auto [balance, frozen] = lock_team(tx, team_id);
    // A month with its final invoice is closed: usage arriving late for it
    // (a node's spool) is not charged, so its charges stay its invoice.
    auto closed = tx.exec_params("SELECT 1 FROM invoices WHERE team_id::text "
                                 "= $1 AND month = $2::date",
                                 team_id, month);
    if (!closed.empty()) {
      out.balance_micros = balance;
      out.frozen_since_ms = frozen;
      tx.commit();
      return caf::none;
    }
    int64_t total = 0;
    for (auto& l : query_lines(tx, team_id, month, prices))
      total += l.amount_micros;
    auto charged = tx.exec_params1("SELECT COALESCE(-sum(amount_micros), 0) "
                                   "FROM ledger WHERE team_id::text = $1 AND "
                                   "kind = 'charge' AND month = $2::date",
                                   team_id, month)[0]
                     .as<int64_t>();
    // What is due beyond what was charged: lines only grow, so this never
    // goes back, and the month's charges add up to its invoice exactly.
    auto due = total - charged;
    if (due > 0) {
      tx.exec_params("INSERT INTO ledger (team_id, kind, amount_micros, "
                     "month, reference, created_by) VALUES ($1::uuid, "
                     "'charge', $2, $3::date, 'usage ' || "
                     "to_char($3::date, 'YYYY-MM'), 'billing')",
                     team_id, static_cast<long long>(-due), month);
      balance = tx.exec_params1("UPDATE teams SET balance_micros = "
                                "balance_micros - $2 WHERE id::text = $1 "
                                "RETURNING balance_micros",
                                team_id, static_cast<long long>(due))[0]
                  .as<int64_t>();
      out.charged_micros = due;
    }
    out.balance_micros = balance;
    out.frozen_since_ms = refreeze(tx, team_id, balance, frozen);
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

caf::expected<charge_result>
pg_store::credit(const std::string& team, int64_t amount_micros,
                 const std::string& reference, const std::string& created_by) {
  charge_result out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    auto rows = tx.exec_params("SELECT id::text FROM teams WHERE (id::text = "
                               "$1 OR slug = $1) AND deleted_at IS NULL",
                               team);
    if (rows.empty())
      return make_error(ec::not_found, "team " + team + " not found");
    auto id = rows[0][0].as<std::string>();
    out.team_id = id;
    auto [balance, frozen] = lock_team(tx, id);
    tx.exec_params("INSERT INTO ledger (team_id, kind, amount_micros, "
                   "reference, created_by) VALUES ($1::uuid, 'credit', $2, "
                   "$3, $4)",
                   id, static_cast<long long>(amount_micros), reference,
                   created_by);
    balance = tx.exec_params1("UPDATE teams SET balance_micros = "
                              "balance_micros + $2 WHERE id::text = $1 "
                              "RETURNING balance_micros",
                              id, static_cast<long long>(amount_micros))[0]
                .as<int64_t>();
    out.balance_micros = balance;
    out.frozen_since_ms = refreeze(tx, id, balance, frozen);
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

caf::expected<invoice> pg_store::finalize_invoice(const invoice& draft) {
  std::optional<invoice> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    nlohmann::json prices{{"vcpu_hour", draft.prices.vcpu_hour},
                          {"memory_gib_hour", draft.prices.memory_gib_hour},
                          {"disk_gib_month", draft.prices.disk_gib_month}};
    tx.exec_params("INSERT INTO invoices (team_id, month, total_micros, "
                   "lines, prices) VALUES ($1::uuid, ($2 || '-01')::date, $3, "
                   "$4::jsonb, $5::jsonb) ON CONFLICT DO NOTHING",
                   draft.team_id, draft.month,
                   static_cast<long long>(draft.total_micros),
                   lines_json(draft.lines).dump(), prices.dump());
    auto rows = tx.exec_params(std::string{invoice_columns}
                                 + "WHERE team_id::text = $1 AND month = ($2 "
                                   "|| '-01')::date",
                               draft.team_id, draft.month);
    out = stored_invoice(rows[0]);
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return std::move(*out);
}

caf::expected<invoice> pg_store::final_invoice(const std::string& team_id,
                                               const std::string& month) {
  return find_one(std::string{invoice_columns}
                    + "WHERE team_id::text = $1 AND month = ($2 || '-01')::date",
                  stored_invoice, "no invoice for " + month, team_id, month);
}

caf::expected<std::vector<invoice>>
pg_store::final_invoices(const std::string& team_id) {
  std::vector<invoice> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    for (auto row : tx.exec_params(
           "SELECT team_id::text, to_char(month, 'YYYY-MM'), total_micros, "
           "'[]', prices::text FROM invoices WHERE team_id::text = $1 ORDER "
           "BY month DESC",
           team_id))
      out.push_back(stored_invoice(row));
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

} // namespace sbx
