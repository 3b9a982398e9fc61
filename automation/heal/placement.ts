import { PlatformModel, TeamModel } from "../../config/model";
import { COLOURS, Colour } from "../../config/schema";
import { OperatorError } from "../cli/errors";
import { Database } from "../coordination/db";
import { HaproxyRuntime } from "../traffic/haproxy-runtime";
import { TeamPlacement } from "./healer";
import { placementFor } from "./docker-ports";

export class ActiveColourUnknown extends OperatorError {}

export interface PlacementSources {
  /** HAProxy's runtime view: what actually serves the team now. */
  haproxy?: HaproxyRuntime;
  /** The coordination DB: `jenkins_coordination`, the colour of the last completed switch. */
  db?: Database;
  /**
   * Whether the config's `activeEnvironment` of a team can be trusted. The Healer
   * container's copy of the config leaves it out on purpose (a switch must not replace the
   * healer), so there it cannot.
   */
  configKnows?: (team: string) => boolean;
}

/** The colour HAProxy sends a team's traffic to: the non-backup server with the highest weight, if one. */
async function fromHaproxy(runtime: HaproxyRuntime, team: TeamModel): Promise<Colour | undefined> {
  const rows = (await runtime.showStat()).filter((r) => r.pxname === team.backendName && (COLOURS as readonly string[]).includes(r.svname) && r.raw.bck !== "1");
  const top = Math.max(0, ...rows.map((r) => r.weight));
  const leaders = rows.filter((r) => r.weight === top && top > 0);
  return leaders.length === 1 ? (leaders[0].svname as Colour) : undefined;
}

/**
 * Where each team runs now, from the most direct source that answers: HAProxy (what
 * serves traffic), else the coordination DB (last completed switch), else the stack config
 * when it can be trusted. When none can tell, the check fails with a clear error: the
 * healer never restarts a colour it is not sure is the active one (restarting a stopped
 * standby would start it).
 */
export function modelPlacement(model: PlatformModel, sources: PlacementSources = {}): (team: string) => Promise<TeamPlacement> {
  return async (name) => {
    const team = model.teams.find((t) => t.name === name);
    if (!team) throw new OperatorError(`team '${name}' is not in stack '${model.stack}'; teams: ${model.teams.map((t) => t.name).join(", ")}`);
    const viaHaproxy = sources.haproxy ? await fromHaproxy(sources.haproxy, team).catch(() => undefined) : undefined;
    if (viaHaproxy) return placementFor(team, viaHaproxy);
    if (sources.db) {
      const rows = await sources.db.query<{ active_environment: Colour }>("SELECT active_environment FROM jenkins_coordination WHERE team = $1", [name]).catch(() => []);
      if (rows[0]) return placementFor(team, rows[0].active_environment);
    }
    if (sources.configKnows?.(name) ?? true) return placementFor(team, team.activeEnvironment);
    throw new ActiveColourUnknown(
      `cannot tell which colour of '${name}' is active: HAProxy's admin socket did not say and the coordination DB has no switch on record; check the healer's --haproxy-socket mount`,
    );
  };
}
