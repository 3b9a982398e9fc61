// Seed job (Job DSL), run by JCasC at start-up on every team controller. It creates the
// team's Infrastructure folder and jobs. Their pipelines are baked into the image next to
// this file, so a controller always runs the pipelines of its own image.
String team = System.getenv('JENKINS_TEAM') ?: 'unknown'
String pipelines = '/usr/share/jenkins/casc'

String pipeline(String dir, String name) {
    return new File("${dir}/${name}.Jenkinsfile").text
}

folder('Infrastructure') {
    displayName('Infrastructure')
    description("Platform jobs for team ${team}, managed by jenkins-ha: switches, rollbacks, backups, DR tests. Generated: do not edit by hand.")
}

pipelineJob('Infrastructure/Blue-Green-Switch') {
    description("Switch team ${team} between blue and green through jenkins-ha (lock, budget, backup, policies, progressive traffic, automatic rollback).")
    logRotator { numToKeep(100) }
    properties { disableConcurrentBuilds() }
    parameters {
        choiceParam('TARGET_ENVIRONMENT', ['green', 'blue'], 'Colour to switch to')
        choiceParam('COORDINATION_MODE', ['safe', 'force'], 'force skips only the switch budget, and is audited as forced')
        stringParam('REASON', '', 'Why (required; goes into the audit trail and the switch record)')
    }
    definition { cps { script(pipeline(pipelines, 'switch')); sandbox(true) } }
}

pipelineJob('Infrastructure/Auto-Heal-Switch') {
    description('Runs the switches the healer asks for (jenkins-ha switch-requests serve), for any team of the stack, through the same orchestrator and gates as Blue-Green-Switch.')
    logRotator { numToKeep(50) }
    properties { pipelineTriggers { triggers { cron { spec('* * * * *') } } } }
    definition { cps { script(pipeline(pipelines, 'auto-heal-switch')); sandbox(true) } }
}

pipelineJob('Infrastructure/Emergency-Rollback') {
    description("Roll team ${team} back to the previous colour (same gates, no budget).")
    parameters { stringParam('REASON', '', 'Why (required)') }
    definition { cps { script(pipeline(pipelines, 'rollback')); sandbox(true) } }
}

pipelineJob('Infrastructure/Infrastructure-Coordination') {
    description('Version upgrade, plugin update or configuration change: rebuild the image, then switch to the standby colour.')
    properties { disableConcurrentBuilds() }
    parameters {
        choiceParam('CHANGE_TYPE', ['version_upgrade', 'plugin_update', 'configuration_change'], 'What changes')
        stringParam('REASON', '', 'Why (required)')
    }
    definition { cps { script(pipeline(pipelines, 'coordination')); sandbox(true) } }
}

pipelineJob('Infrastructure/backup') {
    description("Critical-data backup of team ${team} to NFS, then verification.")
    properties { pipelineTriggers { triggers { cron { spec('H 2 * * *') } } } }
    definition { cps { script(pipeline(pipelines, 'backup')); sandbox(true) } }
}

pipelineJob('Infrastructure/dr-test') {
    description('Disaster-recovery drill: restore the newest verified backup into the standby colour and verify it.')
    properties { pipelineTriggers { triggers { cron { spec('H 4 * * 0') } } } }
    definition { cps { script(pipeline(pipelines, 'dr-test')); sandbox(true) } }
}
