// Lowering of a model's `train { ... }` section to a checked TrainSpec (spec/training.md §1), with every
// problem as an E08xx/E04xx diagnostic. Neighbours: ast.ts (TrainDecl), lower.ts (graph + bindings), train/spec.ts.

import type { Graph, SourceLoc } from "../ir/types.js";
import { hasErrors, type Diagnostic } from "../diagnostics.js";
import type { Expr, ModelDecl, TrainEntry } from "./ast.js";
import { didYouMean } from "./scope.js";
import type { TrainAugmentSpec, TrainDerivedField, TrainLossSpec, TrainOptimizerSpec, TrainScheduleSpec, TrainSpec } from "../train/spec.js";
import { TrainLossLowerer } from "./train-losses.js";
import { describeExpr } from "./train-functions.js";
import { frozenParams, layerPaths, matchesParam, paramNames, topLayers, TrainSelectionError } from "../train/heads.js";
import { AUGMENTS, OPTIMIZERS, REQUIRED_TRAIN_KEYS, SCHEDULES, TRAIN_DEFAULTS, TRAIN_KEYS } from "./train-functions.js";

export { MNIST_FIELDS, REQUIRED_TRAIN_KEYS, TRAIN_DEFAULTS, TRAIN_KEYS } from "./train-functions.js";
export { applyTrainOverrides, type TrainOverrides } from "./train-overrides.js";

/** Result of `lowerTrain`: the spec only when the section is free of errors (and the model has one). */
export interface LowerTrainResult {
  spec?: TrainSpec;
  diagnostics: Diagnostic[];
}

/**
 * Check the train section of `model` against its lowered forward graph and build its TrainSpec.
 * `graph` and `bindings` (lowerModel's LowerResult) resolve the names losses and metrics read; without
 * them (the model itself has errors) only the checks that do not need values run. A model without a
 * train section gives `{ diagnostics: [] }`.
 *
 * Diagnostics: E0801 unknown key, E0802 duplicate key or loss name, E0803 missing data/loss/optimizer,
 * E0804 unknown data source/optimizer/schedule/loss/metric/augmentation (with nearest names), E0805 wrong
 * entry type, E0806 entry out of range (batch_size >= 1, epochs >= 1, split), E0401-E0406 function
 * arguments (unknown, missing, type, range, too many, duplicate), E0302 unknown name, E0807 a loss/metric
 * input that is not a model value, E0808 an unknown data field (mnist() and npy(): fields are known),
 * E0809 loss/metric/data shapes or dtypes that do not fit (checked by the loss op's own shape rule).
 */
export function lowerTrain(model: ModelDecl, graph?: Graph, bindings: Record<string, string> = {}): LowerTrainResult {
  if (!model.train) return { diagnostics: [] };
  const l = new TrainLowerer(graph, bindings);
  const spec = l.lower(model.train.entries, model.train.keyword);
  const diagnostics = l.diags
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.loc?.offset ?? 0) - (b.d.loc?.offset ?? 0) || a.i - b.i)
    .map((x) => x.d);
  return spec && !hasErrors(diagnostics) && graph ? { spec, diagnostics } : { diagnostics };
}

class TrainLowerer extends TrainLossLowerer {
  lower(entries: TrainEntry[], keyword: SourceLoc): TrainSpec | undefined {
    const byKey = new Map<string, TrainEntry>();
    const losses: TrainEntry[] = [];
    const lossNames = new Map<string, SourceLoc>();
    const fieldEntries: TrainEntry[] = [];
    const fieldNames = new Map<string, SourceLoc>();
    for (const e of entries) {
      const key = e.key.text;
      if (!(TRAIN_KEYS as readonly string[]).includes(key)) {
        const hint = didYouMean(key, TRAIN_KEYS) ?? `train entries are ${TRAIN_KEYS.join(", ")}`;
        this.err("E0801", `unknown train entry '${key}'`, e.key.loc, hint);
        continue;
      }
      if (key === "field") {
        if (!e.name) {
          this.err("E0805", "a derived field needs a name: field NAME = ...", e.key.loc, "e.g. field parity = relabel(label, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1])");
          continue;
        }
        const prev = fieldNames.get(e.name.text);
        if (prev) {
          this.err("E0802", `field '${e.name.text}' is already defined`, e.name.loc, undefined, [{ loc: prev, message: "first defined here" }]);
          continue;
        }
        fieldNames.set(e.name.text, e.name.loc);
        fieldEntries.push(e);
        continue;
      }
      if (key === "loss") {
        const name = e.name?.text ?? "loss";
        const prev = lossNames.get(name);
        if (prev) {
          const hint = "name each loss: loss NAME = ...";
          this.err("E0802", `loss '${name}' is already defined`, (e.name ?? e.key).loc, hint, [{ loc: prev, message: "first defined here" }]);
          continue;
        }
        lossNames.set(name, (e.name ?? e.key).loc);
        losses.push(e);
        continue;
      }
      if (e.name) {
        this.err("E0805", `'${key}' entries take no name`, e.name.loc, `only losses and fields are named: loss ${e.name.text} = ...; write ${key} = ...`);
        continue;
      }
      const prev = byKey.get(key);
      if (prev) {
        this.err("E0802", `'${key}' is already set in this train section`, e.key.loc, undefined, [{ loc: prev.key.loc, message: "first set here" }]);
        continue;
      }
      byKey.set(key, e);
    }
    const missing = REQUIRED_TRAIN_KEYS.filter((k) => (k === "loss" ? losses.length === 0 : !byKey.has(k)));
    if (missing.length > 0) {
      const examples: Record<string, string> = {
        data: "data = mnist()",
        loss: "loss = cross_entropy(logits, label)",
        optimizer: "optimizer = adam(lr=0.001)",
      };
      const what = missing.map((k) => `'${k}'`).join(", ");
      this.err("E0803", `train section is missing ${what}`, keyword, `add ${missing.map((k) => examples[k]).join("; ")}`);
    }

    const get = <T>(key: string, f: (e: TrainEntry) => T | undefined): T | undefined => {
      const e = byKey.get(key);
      return e ? f(e) : undefined;
    };
    const data = get("data", (e) => this.data(e.value));
    const derived = data ? fieldEntries.map((e) => this.derivedField(e)) : [];
    const lossSpecs = losses.map((e) => this.loss(e)).filter((x): x is TrainLossSpec => x !== undefined);
    const metricsEntry = byKey.get("metrics");
    const metrics = metricsEntry ? this.list(metricsEntry, (x) => this.metric(x)) : [];
    if (data) this.checkDataFields(data, byKey.get("data")!.value, [...lossSpecs, ...(metrics ?? [])]);
    const optimizer = get("optimizer", (e) => this.optimizer(e.value));
    const split = get("split", (e) => this.split(e)) ?? { ...TRAIN_DEFAULTS.split };
    const schedule = get("schedule", (e) => this.schedule(e.value)) ?? { ...TRAIN_DEFAULTS.schedule };
    const clip = get("clip_grad_norm", (e) => this.number(e, { int: false, min: 0, minExclusive: true }));
    const batch = get("batch_size", (e) => this.number(e, { int: true, min: 1 })) ?? TRAIN_DEFAULTS.batch_size;
    const epochs = get("epochs", (e) => this.number(e, { int: true, min: 1 })) ?? TRAIN_DEFAULTS.epochs;
    const seed = get("seed", (e) => this.number(e, { int: true, min: 0, max: 2 ** 32 - 1 })) ?? TRAIN_DEFAULTS.seed;
    const early = get("early_stopping", (e) => this.earlyStopping(e.value));
    const augmentEntry = byKey.get("augment");
    const augment = augmentEntry ? this.list(augmentEntry, (x) => this.augmentation(x)) : [];
    if (augmentEntry && augment && augment.length > 0) this.checkImages(augmentEntry);
    if (early && byKey.has("split") && split.validation === 0)
      this.err("E0806", "early_stopping watches the validation loss, but the split has no validation set", byKey.get("early_stopping")!.value.loc,
        "give the validation set some samples: split = [8000, 1000, 1000]");

    const freeze = get("freeze", (e) => this.paramSelection(e));
    const trainable = get("trainable", (e) => this.paramSelection(e));
    if (byKey.has("freeze") && byKey.has("trainable")) {
      const [a, b] = [byKey.get("freeze")!, byKey.get("trainable")!].sort((x, y) => (x.key.loc.offset ?? 0) - (y.key.loc.offset ?? 0));
      this.err("E0811", "freeze and trainable exclude each other", b!.key.loc, "freeze names the layers that stay fixed; trainable the only ones that train: give one",
        [{ loc: a!.key.loc, message: `${a!.key.text} given here` }]);
    } else if (this.graph && (freeze ?? trainable)) this.checkSomethingTrains(freeze ? byKey.get("freeze")! : byKey.get("trainable")!, freeze, trainable);
    const heads = get("heads", (e) => this.heads(e, [...lossNames.keys()]));

    if (!data || !optimizer || lossSpecs.length !== losses.length || !metrics || !augment || missing.length > 0) return undefined;
    if (derived.some((d) => d === undefined) || (byKey.has("freeze") && !freeze) || (byKey.has("trainable") && !trainable) || (byKey.has("heads") && !heads)) return undefined;
    return {
      data,
      split,
      losses: lossSpecs,
      optimizer,
      schedule,
      ...(clip !== undefined ? { clip_grad_norm: clip } : {}),
      batch_size: batch,
      epochs,
      seed,
      metrics,
      ...(early ? { early_stopping: early } : {}),
      augment,
      ...(derived.length > 0 ? { derived: derived as TrainDerivedField[] } : {}),
      ...(freeze ? { freeze } : {}),
      ...(trainable ? { trainable } : {}),
      ...(heads ? { heads } : {}),
    };
  }

  /** `freeze = [...]` / `trainable = [...]`: layer names, prefixes or param names (names or strings), each matching some param. */
  private paramSelection(e: TrainEntry): string[] | undefined {
    const items = this.nameList(e);
    if (!items) return undefined;
    if (!this.graph) return items.map((x) => x.text);
    const params = paramNames(this.graph);
    let ok = true;
    for (const x of items)
      if (!params.some((p) => matchesParam(x.text, p))) {
        ok = false;
        const hint = didYouMean(x.text, layerPaths(params)) ?? `layers: ${topLayers(params).join(", ")}`;
        this.err("E0810", `${e.key.text}: '${x.text}' names no layer or parameter of the model`, x.loc, hint);
      }
    return ok ? items.map((x) => x.text) : undefined;
  }

  /** A freeze/trainable selection must leave at least one param to train. */
  private checkSomethingTrains(e: TrainEntry, freeze?: string[], trainable?: string[]): void {
    try {
      frozenParams(this.graph!, { ...(freeze ? { freeze } : {}), ...(trainable ? { trainable } : {}) });
    } catch (err) {
      if (!(err instanceof TrainSelectionError)) throw err;
      this.err("E0806", err.message, e.value.loc);
    }
  }

  /** `heads = [loss names]`: the active losses. */
  private heads(e: TrainEntry, losses: string[]): string[] | undefined {
    const items = this.nameList(e);
    if (!items) return undefined;
    if (items.length === 0) {
      this.err("E0806", "heads: the list is empty", e.value.loc, `name the active losses: heads = [${losses[0] ?? "loss"}]`);
      return undefined;
    }
    let ok = true;
    for (const x of items)
      if (!losses.includes(x.text)) {
        ok = false;
        this.err("E0810", `heads: no loss named '${x.text}'`, x.loc, didYouMean(x.text, losses) ?? `losses: ${losses.join(", ")}`);
      }
    return ok ? items.map((x) => x.text) : undefined;
  }

  /** A list of bare names or strings (`[stage1, "fc1.weight"]`); E0805 otherwise. */
  private nameList(e: TrainEntry): { text: string; loc: SourceLoc }[] | undefined {
    const v = e.value;
    const items = v.kind === "list" ? v.items : [v];
    const out: { text: string; loc: SourceLoc }[] = [];
    for (const x of items) {
      if (x.kind === "name") out.push({ text: x.name, loc: x.loc });
      else if (x.kind === "string") out.push({ text: x.value, loc: x.loc });
      else {
        this.err("E0805", `'${e.key.text}' expects a list of names, got ${describeExpr(x)}`, x.loc, `write ${e.key.text} = [name, ...]`);
        return undefined;
      }
    }
    return out;
  }

  /** `optimizer = sgd(lr) | momentum(lr, ...) | adam(...) | adamw(...)`, every default filled in. */
  private optimizer(e: Expr): TrainOptimizerSpec | undefined {
    const call = this.asCall(e, "optimizer", OPTIMIZERS, "adam(lr=0.001)");
    const b = call && this.bind(call);
    if (!b) return undefined;
    const v = b.values as Record<string, number & boolean & number[]>;
    switch (b.callee) {
      case "sgd":
        return { kind: "sgd", lr: v.lr, weight_decay: v.weight_decay };
      case "momentum":
        if (v.nesterov && (v.momentum <= 0 || v.dampening !== 0)) {
          this.err("E0404", "momentum: nesterov needs momentum > 0 and dampening = 0 (as torch.optim.SGD)", call!.loc);
          return undefined;
        }
        return { kind: "momentum", lr: v.lr, momentum: v.momentum, dampening: v.dampening, nesterov: v.nesterov, weight_decay: v.weight_decay };
      default: {
        const kind = b.callee as "adam" | "adamw";
        return { kind, lr: v.lr, beta1: v.betas[0]!, beta2: v.betas[1]!, eps: v.eps, weight_decay: v.weight_decay };
      }
    }
  }

  /** `schedule = constant() | step(step_size, gamma=0.1) | cosine(warmup_epochs=0, min_lr=0)`. */
  private schedule(e: Expr): TrainScheduleSpec | undefined {
    const call = this.asCall(e, "schedule", SCHEDULES, "cosine()");
    const b = call && this.bind(call);
    if (!b) return undefined;
    const v = b.values as Record<string, number>;
    if (b.callee === "step") return { kind: "step", step_size: v.step_size!, gamma: v.gamma! };
    if (b.callee === "cosine") return { kind: "cosine", warmup_epochs: v.warmup_epochs!, min_lr: v.min_lr! };
    return { kind: "constant" };
  }

  private earlyStopping(e: Expr): { patience: number; min_delta: number } | undefined {
    const call = this.asCall(e, "early stopping rule", ["early_stopping"], "early_stopping(patience=3)");
    const b = call && this.bind(call);
    return b && { patience: b.values["patience"] as number, min_delta: b.values["min_delta"] as number };
  }

  private augmentation(x: Expr): TrainAugmentSpec | undefined {
    const call = this.asCall(x, "augmentation", AUGMENTS, "shift(2)");
    const b = call && this.bind(call);
    if (!b) return undefined;
    return b.callee === "shift" ? { kind: "shift", pixels: b.values["pixels"] as number } : { kind: "rotate", degrees: b.values["degrees"] as number };
  }
}
