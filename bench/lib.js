// Shared helpers of the benchmark suites: the engine line protocol (child side and parent side), statistics and
// markdown tables. Neighbours: bench/run.js dispatches suites; bench/train.js drives engines in bench/engines/*.
// @ts-check

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** Prefix of protocol lines on an engine's stdout; any other line (library banners, warnings) is passed through. */
export const PROTOCOL_PREFIX = "@@bench ";

/**
 * Child side of the engine protocol. Reads one JSON command per stdin line, answers one `@@bench {json}` line each:
 * - `{cmd: "warmup", steps}` and `{cmd: "round", steps}` run `steps` training steps and answer
 *   `{seconds, cpuSeconds, samples, loss}` (wall and CPU time of the steps, measured here, so process start-up and the
 *   pipe never count; CPU time is this process's, all threads);
 * - `{cmd: "quit"}` ends the process.
 * `setup()` runs first and its result (or `{error}` when it throws) is the first line, so the parent knows whether
 * the engine is usable.
 * @param {() => Promise<{info: Record<string, unknown>, step: () => number, batch: number}>} setup
 *   builds the model and data; `step()` runs one training step on the next batch and returns its loss
 */
export async function serveEngine(setup) {
  const send = (/** @type {unknown} */ msg) => process.stdout.write(PROTOCOL_PREFIX + JSON.stringify(msg) + "\n");
  let engine;
  try {
    engine = await setup();
  } catch (e) {
    send({ error: e instanceof Error ? e.message : String(e) });
    process.exit(0);
  }
  send({ ready: true, info: engine.info });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    if (cmd.cmd === "quit") break;
    try {
      let loss = NaN;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < cmd.steps; i++) loss = engine.step();
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      send({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, samples: cmd.steps * engine.batch, loss });
    } catch (e) {
      send({ error: e instanceof Error ? e.message : String(e) });
    }
  }
  rl.close();
  process.exit(0);
}

/**
 * Parent side: a spawned engine process speaking the protocol above.
 * `request` sends a command and resolves with the next protocol line; stderr and non-protocol stdout lines are
 * collected in `log` (shown when the engine fails).
 */
export class EngineProcess {
  /**
   * @param {string} name display name
   * @param {string} command executable
   * @param {string[]} args
   * @param {Record<string, string | undefined>} [env] extra environment variables
   */
  constructor(name, command, args, env = {}) {
    this.name = name;
    /** @type {string[]} */
    this.log = [];
    /** @type {((msg: any) => void)[]} */
    this.waiting = [];
    /** @type {any[]} */
    this.queued = [];
    this.exited = false;
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    this.child.on("error", (e) => this.deliver({ error: `cannot start ${command}: ${e.message}` }));
    this.child.on("exit", (code, signal) => {
      this.exited = true;
      this.deliver({ error: `engine process exited (${signal ?? `code ${code}`})${this.tail()}` });
    });
    createInterface({ input: /** @type {import("node:stream").Readable} */ (this.child.stdout) }).on("line", (line) => {
      if (line.startsWith(PROTOCOL_PREFIX)) this.deliver(JSON.parse(line.slice(PROTOCOL_PREFIX.length)));
      else this.log.push(line);
    });
    createInterface({ input: /** @type {import("node:stream").Readable} */ (this.child.stderr) }).on("line", (line) => this.log.push(line));
  }

  /** @param {any} msg */
  deliver(msg) {
    const w = this.waiting.shift();
    if (w) w(msg);
    else if (!this.exited || this.queued.length === 0) this.queued.push(msg);
  }

  /** The last lines of the engine's own output, for error messages. */
  tail() {
    const lines = this.log.filter((l) => l.trim() && !/tfjs-node|speed things up|^=+$|^Hi, looks like/.test(l)).slice(-6);
    return lines.length ? `:\n    ${lines.join("\n    ")}` : "";
  }

  /** The next protocol message (e.g. the setup answer). @returns {Promise<any>} */
  next() {
    const q = this.queued.shift();
    if (q !== undefined) return Promise.resolve(q);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Send one command and wait for its answer. @param {object} cmd @returns {Promise<any>} */
  request(cmd) {
    if (this.exited) return Promise.resolve({ error: `engine process has exited${this.tail()}` });
    this.child.stdin?.write(JSON.stringify(cmd) + "\n");
    return this.next();
  }

  /** Ask the engine to quit and wait (at most 5 s) for it to exit; then kill this process (by its own pid). */
  async close() {
    if (this.exited) return;
    const done = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.stdin?.write(JSON.stringify({ cmd: "quit" }) + "\n");
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await done;
    clearTimeout(timer);
  }
}

/**
 * Percentile of `values` by linear interpolation between closest ranks (numpy's default), p in [0, 100].
 * @param {number[]} values @param {number} p
 */
export function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const x = ((v.length - 1) * p) / 100;
  const lo = Math.floor(x);
  const hi = Math.ceil(x);
  return v[lo] + (v[hi] - v[lo]) * (x - lo);
}

/**
 * A markdown table with right-aligned numeric columns.
 * @param {string[]} header @param {string[][]} rows @param {boolean[]} [right] right-align per column
 */
export function markdownTable(header, rows, right = []) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const pad = (/** @type {string} */ s, /** @type {number} */ c) => (right[c] ? s.padStart(widths[c]) : s.padEnd(widths[c]));
  const line = (/** @type {string[]} */ r) => `| ${r.map(pad).join(" | ")} |`;
  const sep = `|${widths.map((w, c) => (right[c] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|")}|`;
  return [line(header), sep, ...rows.map(line)].join("\n");
}

/**
 * Parse `--name value` / `--name=value` / `--flag` arguments into a record (values are strings, flags true) and
 * positional arguments.
 * @param {string[]} argv
 */
export function parseArgs(argv) {
  /** @type {Record<string, string | true>} */
  const options = {};
  /** @type {string[]} */
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq > 0) options[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) options[a.slice(2)] = argv[++i];
    else options[a.slice(2)] = true;
  }
  return { options, positional };
}

/** Format a number with `digits` significant decimals, e.g. 1234.5 -> "1,235", 3.21 -> "3.21". @param {number} x */
export function fmt(x) {
  if (!Number.isFinite(x)) return "—";
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en-US");
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/**
 * The benchmark data written by bench/train.js into `dir`: `images.f32` (NCHW [n, 1, 28, 28] little-endian f32, the
 * first n digits of compiler/data/mnist.ts's loadMnist) and `labels.i32` (class ids, [n]).
 * @param {string} dir
 */
export function readBenchData(dir) {
  const copy = (/** @type {string} */ name) => {
    const b = readFileSync(join(dir, name));
    const out = new ArrayBuffer(b.byteLength);
    new Uint8Array(out).set(b);
    return out;
  };
  return { images: new Float32Array(copy("images.f32")), labels: new Int32Array(copy("labels.i32")) };
}

/** Seeded uniform [-1, 1) floats (xorshift32): the bench inputs. @param {number} n @param {number} seed */
export function randomInput(n, seed) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
