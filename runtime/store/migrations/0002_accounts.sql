-- Accounts: console sessions and invitations. Users, teams, memberships,
-- API keys and the audit log are in 0001.

-- A console login. The access token (a JWT) names the session; the refresh
-- token is stored as its SHA-256 only and replaced at every refresh, so a
-- refresh token used twice reveals a theft and ends the session.
CREATE TABLE sessions (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  refresh_hash  char(64) NOT NULL UNIQUE,
  -- The hash the previous refresh replaced, to recognise its reuse.
  previous_hash char(64),
  created_at    timestamptz NOT NULL DEFAULT now(),
  refreshed_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  remote_addr   inet
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_previous_idx ON sessions (previous_hash);

-- Someone asked to join a team before they had an account: they become a
-- member when they register with this address.
CREATE TABLE invitations (
  team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  email      text NOT NULL,
  role       text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, email)
);
CREATE INDEX invitations_email_idx ON invitations (lower(email));

CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
