import YAML from "yaml";
import { PlatformModel } from "../config/model";
import { header } from "./prometheus";

/** Inside the Loki container: the data volume. */
export const LOKI_DATA_DIR = "/loki";

/**
 * Loki's documented single-binary ("monolithic", `-target=all`) shape with filesystem
 * storage, TSDB index (schema v13) and compactor retention. Structure-tested only: no Loki
 * binary is packaged for this machine.
 */
export function lokiConfig(model: PlatformModel): Record<string, unknown> {
  const l = model.config.logging;
  return {
    auth_enabled: false,
    server: {
      http_listen_address: l.bindAddress,
      http_listen_port: l.ports.loki,
      grpc_listen_address: l.bindAddress,
      grpc_listen_port: l.ports.lokiGrpc,
      log_level: "info",
    },
    common: {
      instance_addr: "127.0.0.1",
      path_prefix: LOKI_DATA_DIR,
      storage: { filesystem: { chunks_directory: `${LOKI_DATA_DIR}/chunks`, rules_directory: `${LOKI_DATA_DIR}/rules` } },
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
    },
    schema_config: {
      configs: [{ from: "2024-04-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }],
    },
    limits_config: {
      retention_period: `${l.retentionDays * 24}h`,
      reject_old_samples: true,
      reject_old_samples_max_age: "168h",
    },
    compactor: {
      working_directory: `${LOKI_DATA_DIR}/compactor`,
      compaction_interval: "10m",
      // Retention is applied by the compactor; without this, retention_period is ignored.
      retention_enabled: true,
      retention_delete_delay: "2h",
      delete_request_store: "filesystem",
    },
    analytics: { reporting_enabled: false },
  };
}

export function renderLokiConfig(model: PlatformModel): string {
  return header(model, "loki.yaml") + YAML.stringify(lokiConfig(model), { lineWidth: 0 });
}
