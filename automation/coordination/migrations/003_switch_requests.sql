-- Switch requests: the healer asks for a switch here, and a switch worker (the
-- Infrastructure/Auto-Heal-Switch job on an ops agent, which has the Pulumi workspace)
-- claims it and runs the switch orchestrator. The healer container never needs the Pulumi
-- CLI, the stack passphrase or a second copy of the stack config.
CREATE TABLE switch_requests (
  id             bigserial PRIMARY KEY,
  stack          text NOT NULL CHECK (stack ~ '^[A-Za-z0-9][A-Za-z0-9_./-]{0,199}$'),
  team           text NOT NULL CHECK (team ~ '^[a-z][a-z0-9-]{1,30}$'),
  to_environment text NOT NULL CHECK (to_environment IN ('blue', 'green')),
  mode           text NOT NULL DEFAULT 'auto-heal' CHECK (mode = 'auto-heal'),
  reason         text NOT NULL CHECK (reason <> ''),
  requested_by   text NOT NULL,
  requested_at   timestamptz NOT NULL DEFAULT now(),
  -- Unclaimed by then, the request is void: a worker never starts a stale switch.
  claim_deadline timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'completed', 'rolled_back', 'refused', 'failed', 'expired')),
  claimed_by     text,
  claimed_at     timestamptz,
  -- Renewed by the worker while the switch runs; a stale one means the worker was killed.
  heartbeat_at   timestamptz,
  finished_at    timestamptz,
  outcome_reason text,
  switch_id      text,
  CHECK (claim_deadline > requested_at),
  -- Claimed exactly when a worker took it; a request voided unclaimed never was.
  CHECK ((claimed_by IS NULL) = (status IN ('pending', 'expired'))),
  CHECK ((claimed_at IS NULL) = (claimed_by IS NULL)),
  CHECK ((finished_at IS NULL) = (status IN ('pending', 'running')))
);
-- At most one open request per team and stack: a second healer waits on the first one's.
CREATE UNIQUE INDEX switch_requests_one_open ON switch_requests (stack, team) WHERE status IN ('pending', 'running');
CREATE INDEX switch_requests_pending ON switch_requests (stack, requested_at) WHERE status = 'pending';
