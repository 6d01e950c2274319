#pragma once

#include <caf/expected.hpp>

#include <cstdint>
#include <string>

/// Where a team's credit comes from, behind one interface: a card or
/// invoice processor would implement it. Today credit is granted by
/// operators (`sandhive admin -c "credit TEAM AMOUNT"`), which collects
/// nothing.
namespace sbx {

class payment_provider {
public:
  virtual ~payment_provider() = default;

  /// The provider's name, recorded with each credit ("manual", …).
  virtual std::string name() const = 0;

  /// Collects `amount_micros` for team `team_id`; answers the payment's
  /// reference once it is certain, so that the credit can be booked.
  virtual caf::expected<std::string>
  collect(const std::string& team_id, int64_t amount_micros,
          const std::string& description)
    = 0;
};

/// Credits granted by hand: nothing to collect; the reference is the
/// operator's note.
class manual_payments final : public payment_provider {
public:
  std::string name() const override {
    return "manual";
  }

  caf::expected<std::string> collect(const std::string&, int64_t,
                                     const std::string& description) override {
    return "manual: " + description;
  }
};

} // namespace sbx
