/**
 * The jenkins-ha CrossGuard policy pack. The only place that constructs the PolicyPack:
 * the constructor starts the analyzer server the Pulumi engine talks to.
 *
 *   pulumi preview --policy-pack policy            (the real gate)
 *   npx jenkins-ha render --stack prod --out out/ --policy   (the same policies, offline)
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, policies } from "./policies";

new PolicyPack(POLICY_PACK_NAME, {
  description: "jenkins-ha safety gates: switch record and budget, images, health, privileges, secrets, state volumes, ports, admin surfaces",
  enforcementLevel: "mandatory",
  policies,
});
