// Usage records, on PostgreSQL: stored once whatever the number of sends,
// and summed per month and per day.

#include "runtime/store/pg_store.hpp"

namespace sbx {

caf::expected<size_t>
pg_store::record_usage(const std::vector<usage_record>& records) {
  size_t inserted = 0;
  if (records.empty())
    return inserted;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    for (auto& r : records) {
      auto res = tx.exec_params(
        "INSERT INTO usage_records (id, team_id, sandbox_id, template_id, "
        "api_key_id, node, period_start, period_end, cpu_usec, "
        "memory_mib_ms, disk_mib_ms, vcpu_ms) VALUES ($1::uuid, $2::uuid, "
        "$3, $4, NULLIF($5, '')::uuid, $6, "
        "to_timestamp($7::double precision / 1000), "
        "to_timestamp($8::double precision / 1000), $9, $10, $11, $12) "
        "ON CONFLICT (id) DO NOTHING",
        r.id, r.team_id, r.sandbox_id, r.template_id, r.api_key_id, r.node,
        static_cast<long long>(r.period_start_ms),
        static_cast<long long>(r.period_end_ms),
        static_cast<long long>(r.cpu_usec),
        static_cast<long long>(r.memory_mib_ms),
        static_cast<long long>(r.disk_mib_ms),
        static_cast<long long>(r.vcpu_ms));
      inserted += static_cast<size_t>(res.affected_rows());
    }
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return inserted;
}

caf::expected<uint64_t> pg_store::month_sandbox_ms(const std::string& team_id) {
  uint64_t ms = 0;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    ms = tx.exec_params1(
             "SELECT COALESCE(sum(extract(epoch FROM period_end - "
             "period_start) * 1000), 0)::bigint FROM usage_records WHERE "
             "team_id::text = $1 AND period_start >= "
             "date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE "
             "'UTC'",
             team_id)[0]
           .as<uint64_t>();
    return caf::none;
  });
  if (err)
    return err;
  return ms;
}

caf::expected<std::vector<usage_day>>
pg_store::usage_days(const std::string& team_id, int64_t from_ms,
                     int64_t to_ms) {
  std::vector<usage_day> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    // One scan, three groupings: the day, the day and template, the day
    // and key.
    auto rows = tx.exec_params(
      "SELECT to_char(date_trunc('day', period_start AT TIME ZONE 'UTC'), "
      "'YYYY-MM-DD') AS day, "
      "CASE WHEN GROUPING(template_id) = 0 THEN template_id ELSE '*' END, "
      "CASE WHEN GROUPING(api_key_id) = 0 THEN COALESCE(api_key_id::text, '') "
      "ELSE '*' END, "
      "COALESCE(sum(extract(epoch FROM period_end - period_start) * 1000), "
      "0)::bigint, sum(cpu_usec)::bigint, sum(vcpu_ms)::bigint, "
      "sum(memory_mib_ms)::bigint, sum(disk_mib_ms)::bigint "
      "FROM usage_records WHERE team_id::text = $1 "
      "AND period_start >= to_timestamp($2::double precision / 1000) "
      "AND period_start < to_timestamp($3::double precision / 1000) "
      "GROUP BY GROUPING SETS ((day), (day, template_id), "
      "(day, api_key_id)) ORDER BY day, 2, 3",
      team_id, static_cast<long long>(from_ms),
      static_cast<long long>(to_ms));
    for (auto row : rows)
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                     row[2].as<std::string>(), row[3].as<uint64_t>(),
                     row[4].as<uint64_t>(), row[5].as<uint64_t>(),
                     row[6].as<uint64_t>(), row[7].as<uint64_t>()});
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

} // namespace sbx
