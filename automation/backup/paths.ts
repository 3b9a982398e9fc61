import * as path from "path";
import { homeVolumeName } from "../../config/model";
import { Colour } from "../../config/schema";

/**
 * Where a colour's JENKINS_HOME is on the host when no `--home` is given: its docker
 * volume `jenkins-<team>-<colour>-home` under the local driver's data root,
 * `/var/lib/docker/volumes/<name>/_data` (`docker volume inspect` shows the same
 * Mountpoint). The CLI must then run as root on the team's host. Another data root
 * (dockerd `--data-root`) is given with `JENKINS_HA_DOCKER_VOLUMES_DIR`.
 */
export const DOCKER_VOLUMES_DIR = "/var/lib/docker/volumes";

export function volumeHomePath(team: string, colour: Colour, volumesDir = process.env.JENKINS_HA_DOCKER_VOLUMES_DIR ?? DOCKER_VOLUMES_DIR): string {
  return path.join(volumesDir, homeVolumeName(team, colour), "_data");
}
