// Shared by the CLI tests (cli.test.ts, cli-files.test.ts, inspect-kernels.test.ts): run the `modelc` command
// line in-process with captured output.

import { main } from "../compiler/cli/main.js";
import { bufferIo } from "../compiler/cli/common.js";

/** Run `modelc ...argv` in this process; its exit code and its stdout / stderr lines joined by "\n". */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}
