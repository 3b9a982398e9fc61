/**
 * Every policy of the pack, in one list. `index.ts` serves them (`pulumi preview
 * --policy-pack policy`); the offline check (`automation/offline/policy.ts`) evaluates the
 * very same objects over what the program registers under mocks.
 */
import { Policies } from "@pulumi/policy";
import { adminSurfacesPolicy } from "./admin-surfaces";
import { healthAndRestartPolicy, noPlaintextSecretsPolicy, noPrivilegedNoSocketPolicy } from "./containers";
import { imageTagsPinnedPolicy, oneImagePerTeamPolicy, pluginVersionsPinnedPolicy } from "./images";
import { portIsolationPolicy } from "./ports";
import { switchBudgetPolicy, switchRecordPolicy } from "./switch";
import { protectedVolumesPolicy } from "./volumes";

export const POLICY_PACK_NAME = "jenkins-ha-policy";

export const policies: Policies = [
  // mandatory
  switchRecordPolicy,
  switchBudgetPolicy,
  oneImagePerTeamPolicy,
  healthAndRestartPolicy,
  noPrivilegedNoSocketPolicy,
  noPlaintextSecretsPolicy,
  protectedVolumesPolicy,
  portIsolationPolicy,
  adminSurfacesPolicy,
  // advisory
  pluginVersionsPinnedPolicy,
  imageTagsPinnedPolicy,
];
