-- jenkins-ha coordination schema, version 1. Applied once, in a transaction, by
-- `jenkins-ha db migrate`; recorded in schema_migrations.

-- The seed's tables -------------------------------------------------------------------

-- Which colour each team runs, as the last completed switch left it.
CREATE TABLE jenkins_coordination (
  team               text PRIMARY KEY CHECK (team ~ '^[a-z][a-z0-9-]{1,30}$'),
  active_environment text NOT NULL CHECK (active_environment IN ('blue', 'green')),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  updated_by         text NOT NULL
);

-- Health records per team and colour (written by the healer).
CREATE TABLE environment_state (
  team        text NOT NULL,
  environment text NOT NULL CHECK (environment IN ('blue', 'green')),
  healthy     boolean NOT NULL,
  evidence    jsonb NOT NULL DEFAULT '[]',
  checked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team, environment)
);

-- Fencing tokens only grow, across every lock.
CREATE SEQUENCE fencing_token_seq;

-- One row per lock name: `team:<team>` or `platform`. A row whose expires_at has passed
-- is free to be taken over; the taker gets a larger token.
CREATE TABLE coordination_locks (
  lock_name     text PRIMARY KEY CHECK (lock_name = 'platform' OR lock_name ~ '^team:[a-z][a-z0-9-]{1,30}$'),
  holder        text NOT NULL,
  fencing_token bigint NOT NULL,
  acquired_at   timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  CHECK (expires_at > acquired_at)
);

-- Every operation: switch, rollback, heal action, override, emergency stop, backup verify.
CREATE TABLE deployment_audit (
  id               bigserial PRIMARY KEY,
  operation        text NOT NULL,
  team             text,
  actor            text NOT NULL,
  reason           text NOT NULL DEFAULT '',
  from_environment text CHECK (from_environment IN ('blue', 'green')),
  to_environment   text CHECK (to_environment IN ('blue', 'green')),
  outcome          text NOT NULL,
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz NOT NULL,
  metadata         jsonb NOT NULL DEFAULT '{}',
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (finished_at >= started_at)
);
CREATE INDEX deployment_audit_team_time ON deployment_audit (team, started_at);

-- Audit rows are append-only for everyone but the owner.
CREATE FUNCTION deployment_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_user <> (SELECT tableowner FROM pg_tables WHERE tablename = 'deployment_audit' AND schemaname = current_schema()) THEN
    RAISE EXCEPTION 'deployment_audit is append-only (% by %)', TG_OP, current_user;
  END IF;
  RETURN COALESCE(OLD, NEW);
END $$;
CREATE TRIGGER deployment_audit_append_only BEFORE UPDATE OR DELETE ON deployment_audit
  FOR EACH ROW EXECUTE FUNCTION deployment_audit_append_only();

-- What the features need beyond the seed ---------------------------------------------

-- The switch journal: a switch writes each phase before it starts, so a run that was
-- killed leaves an open entry the next run finishes.
CREATE TABLE switch_journal (
  id               text PRIMARY KEY,
  team             text NOT NULL,
  from_environment text NOT NULL CHECK (from_environment IN ('blue', 'green')),
  to_environment   text NOT NULL CHECK (to_environment IN ('blue', 'green')),
  actor            text NOT NULL,
  reason           text NOT NULL,
  mode             text NOT NULL CHECK (mode IN ('safe', 'force', 'rollback', 'auto-heal')),
  phase            text NOT NULL CHECK (phase IN ('preflight', 'stage', 'shift', 'commit', 'rollback')),
  target_percent   integer NOT NULL DEFAULT 0 CHECK (target_percent BETWEEN 0 AND 100),
  committed        boolean NOT NULL DEFAULT false,
  fencing_token    bigint NOT NULL,
  emergency_stop   boolean NOT NULL DEFAULT false,
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz,
  outcome          text CHECK (outcome IN ('completed', 'rolled_back', 'refused', 'failed')),
  CHECK (from_environment <> to_environment),
  CHECK ((outcome IS NULL) = (finished_at IS NULL))
);
-- At most one unfinished switch per team.
CREATE UNIQUE INDEX switch_journal_one_open ON switch_journal (team) WHERE outcome IS NULL;

-- Heal pause flags: paused by on-call, or waiting for a human after an escalation.
CREATE TABLE heal_flags (
  team        text PRIMARY KEY,
  paused      boolean NOT NULL DEFAULT false,
  needs_human boolean NOT NULL DEFAULT false,
  reason      text NOT NULL DEFAULT '',
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Switch budget per team, from the audit trail (what dashboards and `status` read).
CREATE VIEW switch_budget AS
SELECT team,
       count(*) FILTER (WHERE started_at > now() - interval '1 hour') AS switches_last_hour,
       count(*) FILTER (WHERE started_at > now() - interval '1 day')  AS switches_last_day,
       max(started_at) AS last_switch_at
FROM deployment_audit
WHERE operation = 'switch' AND outcome = 'completed'
GROUP BY team;

-- The healer may lock a team, never the platform.
ALTER TABLE coordination_locks ENABLE ROW LEVEL SECURITY;
CREATE POLICY locks_orchestrator ON coordination_locks FOR ALL TO PUBLIC USING (current_user <> 'healer' OR lock_name <> 'platform')
  WITH CHECK (current_user <> 'healer' OR lock_name <> 'platform');
