// Manifest validation against spec/artifact.schema.json (ajv), for the compiler, CLI and tests.
// Neighbours: artifact/build.ts (validates what it writes); runtime/sections.ts (the runtime's minimal check).

import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv";
import schema from "../../spec/artifact.schema.json" with { type: "json" };

let compiled: ValidateFunction | undefined;

/**
 * Check a manifest (parsed JSON) against spec/artifact.schema.json.
 * Returns one message per violation ("/inputs/0/dtype must be equal to one of the allowed values"),
 * or [] when valid. Never throws.
 */
export function validateManifest(m: unknown): string[] {
  // ajv is loaded on first use (~90 ms CPU to load): compile() checks manifests without it (check: "runtime").
  if (!compiled) {
    const { Ajv } = createRequire(import.meta.url)("ajv") as typeof import("ajv");
    compiled = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (compiled(m)) return [];
  return (compiled.errors ?? []).map((e) => {
    const extra = e.keyword === "additionalProperties" ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : "";
    return `${e.instancePath || "/"} ${e.message ?? "is invalid"}${extra}`;
  });
}
