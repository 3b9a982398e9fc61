-- Least-privilege grants, applied on every `db migrate` (idempotent). The roles
-- themselves (with generated passwords) are created by the CoordinationDatabase component.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;

-- orchestrator: switches, locks, journal, audit insert.
GRANT SELECT, INSERT, UPDATE, DELETE ON coordination_locks TO orchestrator;
GRANT SELECT, INSERT, UPDATE ON switch_journal, jenkins_coordination TO orchestrator;
GRANT SELECT, INSERT ON deployment_audit TO orchestrator;
GRANT SELECT ON environment_state, heal_flags, switch_budget TO orchestrator;
GRANT USAGE ON SEQUENCE fencing_token_seq, deployment_audit_id_seq TO orchestrator;
-- switch workers (Jenkins on an ops agent) claim and finish the healer's switch requests.
GRANT SELECT, UPDATE ON switch_requests TO orchestrator;

-- healer: health records, audit insert, team and stack locks (row-level security keeps it
-- off the platform lock), heal flags. Its switches run the orchestrator's code on the
-- healer's own connection, so it needs what a switch writes: the journal, and the team's
-- colour in jenkins_coordination, upserted when a switch completes.
GRANT SELECT, INSERT, UPDATE ON environment_state, heal_flags TO healer;
GRANT SELECT, INSERT, UPDATE, DELETE ON coordination_locks TO healer;
GRANT SELECT, INSERT, UPDATE ON switch_journal, jenkins_coordination TO healer;
GRANT SELECT, INSERT ON deployment_audit TO healer;
GRANT SELECT ON switch_budget TO healer;
GRANT USAGE ON SEQUENCE fencing_token_seq, deployment_audit_id_seq TO healer;
-- The deployed healer asks a switch worker to switch (it has no Pulumi workspace), waits for
-- the outcome, and voids its own request when no worker claimed it in time.
GRANT SELECT, INSERT, UPDATE ON switch_requests TO healer;
GRANT USAGE ON SEQUENCE switch_requests_id_seq TO healer;

-- reader: dashboards and the compliance report.
GRANT SELECT ON jenkins_coordination, environment_state, coordination_locks, deployment_audit, switch_journal, heal_flags, switch_budget, switch_requests TO reader;
