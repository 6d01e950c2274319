-- sandhive's first schema: the tables every later part builds on.
-- Money is integer micro-units; usage is integer units (no floating point).

CREATE TABLE teams (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug           text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name           text NOT NULL,
  plan           text NOT NULL DEFAULT 'free'
                   CHECK (plan IN ('free', 'pro', 'enterprise')),
  -- Per-team overrides of the plan's limits, e.g. {"max_sandboxes": 50}.
  limits         jsonb NOT NULL DEFAULT '{}',
  balance_micros bigint NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz
);

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL,
  password_hash text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled_at   timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
  team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  team_id      uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
  name         text NOT NULL,
  -- Lower-case hex SHA-256 of the key; the key itself is never stored.
  key_hash     char(64) NOT NULL UNIQUE,
  key_prefix   text NOT NULL,
  scopes       text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_team_idx ON api_keys (team_id);

CREATE TABLE templates (
  id           text PRIMARY KEY,
  -- NULL: a template every team may use (such as base).
  team_id      uuid REFERENCES teams (id) ON DELETE CASCADE,
  parent_id    text REFERENCES templates (id),
  aliases      text[] NOT NULL DEFAULT '{}',
  manifest     jsonb NOT NULL DEFAULT '{}',
  vcpu         integer NOT NULL DEFAULT 2 CHECK (vcpu > 0),
  memory_mb    integer NOT NULL DEFAULT 512 CHECK (memory_mb > 0),
  disk_mb      integer NOT NULL DEFAULT 1024 CHECK (disk_mb > 0),
  envd_version text NOT NULL DEFAULT '',
  build_status text NOT NULL DEFAULT 'ready'
                 CHECK (build_status IN ('building', 'ready', 'failed')),
  public       boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX templates_team_idx ON templates (team_id);

-- The life of every sandbox, running or ended.
CREATE TABLE sandboxes (
  id          text PRIMARY KEY,
  team_id     uuid NOT NULL REFERENCES teams (id),
  template_id text NOT NULL,
  api_key_id  uuid REFERENCES api_keys (id) ON DELETE SET NULL,
  node        text,
  metadata    jsonb NOT NULL DEFAULT '{}',
  vcpu        integer NOT NULL,
  memory_mb   integer NOT NULL,
  disk_mb     integer NOT NULL,
  state       text NOT NULL
                CHECK (state IN ('starting', 'running', 'paused', 'killed')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  end_reason  text
);
CREATE INDEX sandboxes_team_created_idx ON sandboxes (team_id, created_at DESC);
CREATE INDEX sandboxes_live_idx ON sandboxes (node) WHERE ended_at IS NULL;

-- Usage samples sent by nodes. `id` is made by the sender, so a resend is a
-- no-op (INSERT … ON CONFLICT DO NOTHING) and nothing is counted twice.
CREATE TABLE usage_records (
  id             uuid PRIMARY KEY,
  team_id        uuid NOT NULL REFERENCES teams (id),
  sandbox_id     text NOT NULL,
  template_id    text NOT NULL,
  api_key_id     uuid,
  node           text NOT NULL,
  period_start   timestamptz NOT NULL,
  period_end     timestamptz NOT NULL CHECK (period_end >= period_start),
  cpu_usec       bigint NOT NULL DEFAULT 0 CHECK (cpu_usec >= 0),
  memory_mib_ms  bigint NOT NULL DEFAULT 0 CHECK (memory_mib_ms >= 0),
  disk_mib_ms    bigint NOT NULL DEFAULT 0 CHECK (disk_mib_ms >= 0),
  vcpu_ms        bigint NOT NULL DEFAULT 0 CHECK (vcpu_ms >= 0),
  recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_records_team_period_idx ON usage_records (team_id, period_start);
CREATE INDEX usage_records_sandbox_idx ON usage_records (sandbox_id);

-- Who changed what, when and from where.
CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  team_id     uuid REFERENCES teams (id) ON DELETE SET NULL,
  actor_kind  text NOT NULL
                CHECK (actor_kind IN ('user', 'api_key', 'operator', 'system')),
  actor_id    text NOT NULL,
  action      text NOT NULL,
  target      text,
  details     jsonb NOT NULL DEFAULT '{}',
  remote_addr inet
);
CREATE INDEX audit_log_team_at_idx ON audit_log (team_id, at DESC);
CREATE INDEX audit_log_action_at_idx ON audit_log (action, at DESC);
