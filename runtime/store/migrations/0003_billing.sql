-- Money. Every change of a balance is a line of the ledger (credits
-- positive, charges negative, integer micro-units); teams.balance_micros is
-- their sum, changed in the same transaction as the line.
CREATE TABLE ledger (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id       uuid NOT NULL REFERENCES teams (id),
  at            timestamptz NOT NULL DEFAULT now(),
  kind          text NOT NULL CHECK (kind IN ('credit', 'charge')),
  amount_micros bigint NOT NULL
                  CHECK ((kind = 'credit') = (amount_micros > 0)),
  -- Charges: the month of the usage they pay for.
  month         date,
  reference     text NOT NULL DEFAULT '',
  created_by    text NOT NULL DEFAULT ''
);
CREATE INDEX ledger_team_at_idx ON ledger (team_id, at DESC);
CREATE INDEX ledger_team_month_idx ON ledger (team_id, month)
  WHERE kind = 'charge';

-- A month's invoice once the month is over: its lines as they were then,
-- and the prices they were computed with.
CREATE TABLE invoices (
  team_id      uuid NOT NULL REFERENCES teams (id),
  month        date NOT NULL,
  total_micros bigint NOT NULL,
  lines        jsonb NOT NULL,
  prices       jsonb NOT NULL,
  finalized_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, month)
);

-- When the balance of a billed team ran out (the grace period counts from
-- here); NULL while it has credit.
ALTER TABLE teams ADD COLUMN billing_frozen_at timestamptz;
