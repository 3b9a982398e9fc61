-- Least-privilege grants, applied on every `db migrate` (idempotent). The roles
-- themselves (with generated passwords) are created by the CoordinationDatabase component.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;

-- orchestrator: switches, locks, journal, audit insert.
GRANT SELECT, INSERT, UPDATE, DELETE ON coordination_locks TO orchestrator;
GRANT SELECT, INSERT, UPDATE ON switch_journal, jenkins_coordination TO orchestrator;
GRANT SELECT, INSERT ON deployment_audit TO orchestrator;
GRANT SELECT ON environment_state, heal_flags, switch_budget TO orchestrator;
GRANT USAGE ON SEQUENCE fencing_token_seq, deployment_audit_id_seq TO orchestrator;

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

-- reader: dashboards and the compliance report.
GRANT SELECT ON jenkins_coordination, environment_state, coordination_locks, deployment_audit, switch_journal, heal_flags, switch_budget TO reader;
