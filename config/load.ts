import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { ConfigValidationError } from "./problems";
import { CONFIG_KEYS, PROJECT, StackConfig } from "./schema";
import { validateStackConfig } from "./validate";
import { PlatformModel, buildPlatformModel } from "./model";

/**
 * Reads the `jenkins-ha:*` keys of a `Pulumi.<stack>.yaml` file into a plain object
 * (the same shape `pulumi.Config().getObject()` returns for each key). Keys of other
 * namespaces are ignored; `secure:` values are left as they are (nothing here needs one).
 */
export function readStackFile(file: string): Record<string, unknown> {
  const text = fs.readFileSync(file, "utf8");
  const doc = YAML.parse(text) as { config?: Record<string, unknown> } | null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    const [ns, ...rest] = key.split(":");
    if (rest.length === 0) continue;
    if (ns === PROJECT) out[rest.join(":")] = value;
  }
  return out;
}

export function stackFilePath(projectDir: string, stack: string): string {
  return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

/** Validates raw config and derives the model, or throws one error listing every problem. */
export function loadPlatformModel(stack: string, raw: Record<string, unknown>): PlatformModel {
  const result = validateStackConfig(raw);
  if (!result.ok) throw new ConfigValidationError(stack, result.problems);
  return buildPlatformModel(stack, result.config);
}

/**
 * Turns raw config into the `PULUMI_CONFIG` map the Pulumi runtime reads (`<project>:<key>`
 * -> JSON string), so the real program can run offline under mocks with a stack's config.
 */
export function toPulumiConfigMap(raw: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [`${PROJECT}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

/** Reads the config keys from a `pulumi.Config`-like getter (used by index.ts). */
export function readPulumiConfig(getObject: (key: string) => unknown): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = getObject(key);
    if (value !== undefined) raw[key] = value;
  }
  return raw;
}

export type { StackConfig };
