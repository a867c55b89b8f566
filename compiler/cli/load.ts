// Loading a compiled artifact for the commands that run one (run, eval, sample), with the CLI's file errors: the
// artifact and any sibling file it needs (NAME.weights.bin, the module a manifest names) named once, with why.
// Neighbours: runtime/load.ts (loadModel), cli/common.ts (readFailure, cannotRead).

import { loadModel, ModelcRuntimeError, type LoadOptions, type Model } from "../../runtime/index.js";
import { UserError, cannotRead, checkReadable, readFailure } from "./common.js";

/**
 * loadModel(artifact, options) for a command: UserError `cannot read artifact 'PATH': no such file` (is a directory,
 * permission denied) when the file itself cannot be read; `cannot read file 'SIBLING' (needed by artifact 'PATH'):
 * no such file` when a file it names cannot; `cannot load artifact 'PATH': MESSAGE` for the runtime's other errors
 * (not-artifact, bad-manifest, no-relaxed, ...). Other errors propagate.
 */
export async function loadArtifact(artifact: string, options: LoadOptions): Promise<Model> {
  await checkReadable(artifact, "artifact");
  try {
    return await loadModel(artifact, options);
  } catch (e) {
    if (!(e instanceof ModelcRuntimeError)) throw e;
    // runtime/source.ts: "cannot read PATH: WHY", node's error as `cause`
    const m = e.code === "bad-source" ? /^cannot read (.+?): /.exec(e.message) : null;
    const why = m && (e.cause as { code?: unknown } | undefined)?.code !== undefined ? readFailure(e.cause) : undefined;
    if (why !== undefined && why !== (e.cause as Error).message) throw new UserError(cannotRead("file", m![1]!, why, `needed by artifact '${artifact}'`));
    throw new UserError(`cannot load artifact '${artifact}': ${e.message}`);
  }
}
