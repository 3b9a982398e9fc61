-- One lease per Pulumi stack: every team lives in one stack, and two `pulumi up`s on a
-- stack collide (the engine refuses the second). Switches of different teams run in
-- parallel and take this lease only around their config writes, previews and updates.
-- Stack names may carry an organisation and project (`org/project/stack`).
ALTER TABLE coordination_locks DROP CONSTRAINT IF EXISTS coordination_locks_lock_name_check;
ALTER TABLE coordination_locks ADD CONSTRAINT coordination_locks_lock_name_check
  CHECK (lock_name = 'platform'
         OR lock_name ~ '^team:[a-z][a-z0-9-]{1,30}$'
         OR lock_name ~ '^stack:[A-Za-z0-9][A-Za-z0-9_./-]{0,199}$');
