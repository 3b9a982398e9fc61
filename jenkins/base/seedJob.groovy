// Seed job (Job DSL), run by JCasC at start-up. It creates the team's folders; the
// Infrastructure jobs (switch, rollback, backup, DR test) are defined in
// jenkins/jobs/ and loaded by the seed.
folder('Infrastructure') {
    displayName('Infrastructure')
    description('Platform jobs managed by jenkins-ha: switches, rollbacks, backups, DR tests. Generated: do not edit by hand.')
}
