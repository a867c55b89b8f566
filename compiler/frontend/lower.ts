// Lowering AST -> Graph IR: name resolution, block instantiation, argument checks, layer naming and
// shape inference, with all errors collected as diagnostics. Neighbours: frontend/ast.ts (input),
// frontend/scope.ts + args.ts (helpers), ir/graph.ts GraphBuilder and ir/ops/* (output and rules).

import type { Attrs, DType, Graph, SourceLoc, TensorType } from "../ir/types.js";
import { GraphBuilder, showShape } from "../ir/graph.js";
import { OPS } from "../ir/ops/index.js";
import { MHA_QKV_HINT } from "../ir/ops/attention.js";
import { OpArgError, OpDTypeError, OpTypeError, type OpDef } from "../ir/ops/def.js";
import { diag, hasErrors, type Diagnostic, type RelatedLoc } from "../diagnostics.js";
import type { BlockDecl, CallExpr, Expr, ModelDecl, ModelFile, Statement } from "./ast.js";
import { bindArgs, toAttr, type KwArg, type PosArg, type Slot } from "./args.js";
import { LayerNamer, Scope, didYouMean, type Val } from "./scope.js";

/** Options of `lowerModel`. */
export interface LowerOptions {
  /** Which model of the file to lower; default: the only (or first) one. Unknown name → E0701. */
  model?: string;
  /**
   * For a file with syntax errors (frontend/recovery.ts SyntaxDamage.broken): statements and blocks for which
   * it is true are not lowered, and the names they bind are poison. Default: nothing is broken.
   */
  broken?: (loc: SourceLoc) => boolean;
}

/** Result of `lowerModel`: the graph only when there were no errors. */
export interface LowerResult {
  graph?: Graph;
  /**
   * Every model-level tensor binding (inputs, `let`s, outputs) -> its value id in `graph`, for
   * frontend/lower-train.ts, which resolves the names a train section uses. Also without `graph` (errors),
   * so the train section still tells model values from data fields; a name whose value is unknown (its
   * expression failed) maps to "".
   */
  bindings?: Record<string, string>;
  diagnostics: Diagnostic[];
}

/** A language-level op (OPS only: IR-only ops such as gradients or optimizer updates are not callable). */
function languageOp(name: string): OpDef | undefined {
  return Object.prototype.hasOwnProperty.call(OPS, name) ? OPS[name] : undefined;
}

/** Signature of a call for layer sharing: callee and its non-tensor arguments, in order. */
function callSignature(callee: string, values: Map<string, PosArg>): string {
  const args = [...values].filter(([, v]) => !["tensor", "poison"].includes(v.val.kind)).map(([k, v]) => [k, toAttr(v.val)]);
  return `${callee}(${JSON.stringify(args)})`;
}

/** The signature of a call whose non-tensor arguments are unknown (poison from an earlier error). */
const UNKNOWN_SIG = "\u0000unknown";

/**
 * A call's layer-sharing signature: callSignature when its arguments bound; undefined when binding them
 * reported an error here (a repeated layer name is then E0304); UNKNOWN_SIG when only values poisoned by an
 * earlier error failed (a non-tensor one: no E0304 either way, it cannot be told; tensor ones do not count).
 */
function signatureOf(callee: string, slots: Slot[], values: Map<string, PosArg>, reportedHere: boolean): string | undefined {
  if (reportedHere) return undefined;
  if (slots.some((s) => s.kind !== "tensor" && values.get(s.name)?.val.kind === "poison")) return UNKNOWN_SIG;
  return callSignature(callee, values);
}

/** Element types an `input` may declare. */
const INPUT_DTYPES: readonly DType[] = ["f32", "i32"];

/** A naming and recursion context: one per model and per block instance. */
interface Ctx {
  namer: LayerNamer;
  /** Blocks visible here: model-level first, then file-level. */
  blocks: Map<string, BlockDecl>;
  /** Names of blocks being instantiated (recursion check, E0305). */
  stack: string[];
}

/**
 * Lower one model of a parsed file to a Graph.
 *
 * Semantics: `a -> f(args)` = `f(a, args)`; `a + b` = add(a, b); `a * b` = mul(a, b), a number operand
 * becoming an f32 scalar constant (shape []). `name: op(...)` names a layer (params "name.weight");
 * `name: block(...)` prefixes the block's layers ("name.conv.weight"). Unnamed param-creating ops and
 * unnamed block instances get automatic names `<op><k>` (k from 0 per op within the model or block
 * instance, skipping taken names): "dense0", "s1.conv2d0". Blocks are visible in the file (top-level)
 * or in their model; they do not see the caller's bindings.
 *
 * Diagnostics: E0301 unknown op/block (with "did you mean"), E0302 unknown name, E0303 duplicate binding,
 * E0304 duplicate layer name, E0305 recursive block, E0401-E0406 arguments, E0501 shapes (with related
 * locations of each input's origin), E0502 dtypes, E0503 invalid input shape, E0701 no model, E0702 no
 * outputs, E0703 no inputs. A failed expression yields a poison value that silences follow-on errors.
 * Blocks no statement calls are lowered once with unknown (poison) parameters into a scratch graph, so
 * their name and argument errors are reported too.
 */
export function lowerModel(ast: ModelFile, options: LowerOptions = {}): LowerResult {
  const diags: Diagnostic[] = [];
  const model = pickModel(ast, options, diags);
  if (!model) return { diagnostics: diags };
  const lowerer = new Lowerer(model.name.text, diags, new Set(), options.broken);
  lowerer.lowerModelDecl(ast, model);
  if (!hasErrors(diags)) warnUnusedInputs(lowerer.b.build(), diags);
  const diagnostics = dedupe(diags);
  return hasErrors(diagnostics) ? { bindings: lowerer.bindings, diagnostics } : { graph: lowerer.b.build(), bindings: lowerer.bindings, diagnostics };
}

/** W0701 for each input that no node reads and no output returns (it is still required at run time). */
function warnUnusedInputs(g: Graph, diags: Diagnostic[]): void {
  const used = new Set<string>(g.outputs.map((o) => o.value));
  for (const n of g.nodes) for (const i of n.inputs) used.add(i);
  for (const inp of g.inputs)
    if (!used.has(inp.value))
      diags.push(
        diag("W0701", `input '${inp.name}' is never used`, g.values[inp.value]?.loc, {
          hint: "it is still part of the compiled model's inputs; remove it or use it",
        }),
      );
}

/** PyTorch / Keras spellings a user may reach for, by lower-cased name, and the modelc op they mean. */
const PYTORCH_NAMES: Record<string, string> = {
  linear: "dense",
  fc: "dense",
  conv: "conv2d",
  batchnorm1d: "batchnorm",
  batchnorm2d: "batchnorm",
  batch_norm: "batchnorm",
  max_pool2d: "maxpool2d",
  avg_pool2d: "avgpool2d",
  adaptive_avg_pool2d: "global_avgpool2d",
  adaptiveavgpool2d: "global_avgpool2d",
  cat: "concat",
  view: "reshape",
};

function pickModel(ast: ModelFile, options: LowerOptions, diags: Diagnostic[]): ModelDecl | undefined {
  if (ast.models.length === 0) {
    diags.push(diag("E0701", "no model in file", ast.loc, { hint: "declare one with `model name { ... }`" }));
    return undefined;
  }
  if (options.model === undefined) return ast.models[0];
  const m = ast.models.find((x) => x.name.text === options.model);
  if (!m) {
    const names = ast.models.map((x) => x.name.text);
    diags.push(
      diag("E0701", `no model named '${options.model}' in file`, ast.loc, {
        hint: didYouMean(options.model, names) ?? `models: ${names.join(", ")}`,
      }),
    );
  }
  return m;
}

/** Drop repeated diagnostics (a block instantiated twice reports its own errors once). */
function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const key = `${d.code}|${d.loc?.file}:${d.loc?.line}:${d.loc?.col}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

class Lowerer {
  readonly b: GraphBuilder;
  private readonly layers = new Map<string, SourceLoc>();
  /** Full layer name -> signature (callee + non-tensor arguments) of its first call, for weight sharing. */
  private readonly layerSigs = new Map<string, string>();
  /** Full param/state name -> value id: a shared layer's second call reuses its params. */
  private readonly paramIds = new Map<string, string>();
  /** Layer names (and block-instance prefixes) whose repeated calls were accepted as shared. */
  private readonly sharedLayers = new Set<string>();
  /** Where names of statements not lowered because of syntax errors were bound (see LowerOptions.broken). */
  private readonly brokenBindings = new Set<SourceLoc>();
  /** Model-level tensor bindings (name -> value id, "" when unknown), filled by lowerModelDecl. */
  readonly bindings: Record<string, string> = {};

  constructor(
    name: string,
    private readonly diags: Diagnostic[],
    /** Blocks whose body has been lowered at least once (shared with the scratch lowerers of checkUncalled). */
    private readonly lowered = new Set<BlockDecl>(),
    /** LowerOptions.broken. */
    private readonly broken: (loc: SourceLoc) => boolean = () => false,
  ) {
    this.b = new GraphBuilder(name);
  }

  private err(...args: Parameters<typeof diag>): void {
    this.diags.push(diag(...args));
  }

  lowerModelDecl(file: ModelFile, model: ModelDecl): void {
    const blocks = new Map<string, BlockDecl>();
    for (const decl of [...model.blocks, ...file.blocks]) {
      const prev = blocks.get(decl.name.text);
      if (prev && (model.blocks.includes(decl) === model.blocks.includes(prev))) {
        this.err("E0303", `block '${decl.name.text}' is already declared`, decl.name.loc, {
          related: [{ loc: prev.name.loc, message: "first declared here" }],
        });
      } else if (!prev) blocks.set(decl.name.text, decl);
    }
    const ctx: Ctx = { namer: new LayerNamer("", this.layers), blocks, stack: [] };
    const scope = new Scope();
    const outputs = new Map<string, SourceLoc>();
    let inputs = 0;
    for (const st of model.statements) {
      if (st.kind === "input") inputs++;
      this.statement(st, scope, ctx, outputs);
    }
    for (const name of scope.allNames()) {
      const v = scope.lookup(name);
      if (v?.kind === "tensor") this.bindings[name] = v.id;
      else if (v?.kind === "poison") this.bindings[name] = "";
    }
    for (const block of blocks.values()) if (!this.lowered.has(block)) this.checkUncalled(block, blocks);
    if (inputs === 0) this.err("E0703", `model '${model.name.text}' has no inputs`, model.name.loc);
    if (outputs.size === 0)
      this.err("E0702", `model '${model.name.text}' has no outputs`, model.name.loc, {
        hint: "add `output name` or `output name = expr`",
      });
  }

  /**
   * Check a block no statement of the model instantiated, so its mistakes are not hidden until it is
   * called: the body is lowered once into a scratch graph, parameters without a default being poison.
   * Names, ops and literal arguments are checked; shapes and dtypes (which need an input) are not.
   */
  private checkUncalled(block: BlockDecl, blocks: Map<string, BlockDecl>): void {
    if (this.broken(block.loc)) return;
    const scratch = new Lowerer(block.name.text, this.diags, this.lowered, this.broken);
    const ctx: Ctx = { namer: new LayerNamer("", new Map()), blocks, stack: [block.name.text] };
    scratch.lowerBlockBody(block, new Map(), ctx);
  }

  private bindName(scope: Scope, name: string, val: Val, loc: SourceLoc): void {
    const prev = scope.boundHere(name);
    if (prev && this.brokenBindings.has(prev)) {
      scope.bind(name, val, loc);
      return;
    }
    if (prev) {
      this.err("E0303", `'${name}' is already defined`, loc, { related: [{ loc: prev, message: "first defined here" }] });
      return;
    }
    scope.bind(name, val, loc);
  }

  private statement(st: Statement, scope: Scope, ctx: Ctx, outputs: Map<string, SourceLoc>): void {
    if (this.broken(st.loc)) {
      // A statement a syntax error touched: its value is unknown, and a later binding of its name is not a duplicate.
      if (!scope.boundHere(st.name.text)) {
        scope.bind(st.name.text, { kind: "poison", loc: st.loc }, st.name.loc);
        this.brokenBindings.add(st.name.loc);
      }
      return;
    }
    switch (st.kind) {
      case "input": {
        const dtype = st.dtype.text as DType;
        let ok = true;
        if (!INPUT_DTYPES.includes(dtype)) {
          this.err("E0502", `input '${st.name.text}': unsupported dtype '${st.dtype.text}'`, st.dtype.loc, {
            hint: `use one of ${INPUT_DTYPES.join(", ")}`,
          });
          ok = false;
        }
        for (const d of st.shape)
          if (!Number.isInteger(d.value) || d.value < 1) {
            this.err("E0503", `input '${st.name.text}': dimension ${d.value} must be a positive integer`, d.loc, {
              hint: "shapes are per sample; the batch dimension is implicit",
            });
            ok = false;
          }
        const val: Val = ok
          ? { kind: "tensor", id: this.b.input(st.name.text, dtype, st.shape.map((d) => d.value), st.loc), loc: st.loc }
          : { kind: "poison", loc: st.loc };
        this.bindName(scope, st.name.text, val, st.name.loc);
        return;
      }
      case "let":
        this.bindName(scope, st.name.text, this.expr(st.value, scope, ctx), st.name.loc);
        return;
      case "output": {
        const name = st.name.text;
        let val: Val;
        if (st.value) {
          val = this.expr(st.value, scope, ctx);
          if (!scope.boundHere(name)) scope.bind(name, val, st.name.loc);
        } else {
          const v = scope.lookup(name);
          if (!v) {
            const hint = didYouMean(name, scope.allNames());
            this.err("E0302", `unknown name '${name}'`, st.name.loc, hint ? { hint } : {});
            val = { kind: "poison", loc: st.name.loc };
          } else val = v;
        }
        const prev = outputs.get(name);
        if (prev) {
          this.err("E0303", `output '${name}' is already defined`, st.name.loc, {
            related: [{ loc: prev, message: "first defined here" }],
          });
          return;
        }
        outputs.set(name, st.name.loc);
        if (val.kind === "tensor") this.b.output(name, val.id);
        else if (val.kind !== "poison")
          this.err("E0403", `output '${name}' must be a tensor, got ${val.kind}`, st.value?.loc ?? st.name.loc);
        return;
      }
    }
  }

  /** Evaluate an expression. Never throws for user errors: reports and returns poison. */
  expr(e: Expr, scope: Scope, ctx: Ctx): Val {
    switch (e.kind) {
      case "number":
        return { kind: "number", value: e.value, isInt: e.isInt, loc: e.loc };
      case "string":
        return { kind: "string", value: e.value, loc: e.loc };
      case "bool":
        return { kind: "bool", value: e.value, loc: e.loc };
      case "list": {
        const items = e.items.map((i) => this.expr(i, scope, ctx));
        if (items.some((i) => i.kind === "poison")) return { kind: "poison", loc: e.loc };
        const bad = items.find((i) => i.kind !== "number");
        if (bad) {
          this.err("E0403", `lists may only hold numbers, got ${bad.kind}`, bad.loc);
          return { kind: "poison", loc: e.loc };
        }
        const nums = items as Extract<Val, { kind: "number" }>[];
        return { kind: "list", value: nums.map((n) => n.value), isInt: nums.every((n) => n.isInt), loc: e.loc };
      }
      case "name": {
        const v = scope.lookup(e.name);
        if (v) return v.kind === "tensor" ? v : { ...v, loc: e.loc };
        if (languageOp(e.name) || ctx.blocks.has(e.name))
          this.err("E0302", `unknown name '${e.name}'`, e.loc, { hint: `'${e.name}' is an op; call it as ${e.name}(...)` });
        else {
          const hint = didYouMean(e.name, scope.allNames());
          this.err("E0302", `unknown name '${e.name}'`, e.loc, hint ? { hint } : {});
        }
        return { kind: "poison", loc: e.loc };
      }
      case "call":
        return this.call(e, undefined, scope, ctx);
      case "pipe": {
        let cur = this.expr(e.head, scope, ctx);
        for (const st of e.stages) cur = this.call(st, cur, scope, ctx);
        return cur;
      }
      case "binary": {
        const l = this.expr(e.left, scope, ctx);
        const r = this.expr(e.right, scope, ctx);
        const op = e.op === "+" ? "add" : "mul";
        const ops = [l, r].map((v) => this.asTensorOperand(v, e.op));
        if (ops.some((o) => o === undefined)) return { kind: "poison", loc: e.loc };
        return this.applyOp(languageOp(op)!, ops as Val[], {}, undefined, e.loc, new Map());
      }
    }
  }

  /** A binary-operator operand: tensors as is, numbers as f32 scalar constants, others E0403. */
  private asTensorOperand(v: Val, op: string): Val | undefined {
    if (v.kind === "tensor") return v;
    if (v.kind === "poison") return undefined;
    if (v.kind === "number") return { kind: "tensor", id: this.b.constant([], [v.value]), loc: v.loc };
    this.err("E0403", `operands of '${op}' must be tensors or numbers, got ${v.kind}`, v.loc);
    return undefined;
  }

  /** Evaluate `[layer:] callee(args)`, with `piped` prepended as the first positional argument. */
  private call(e: CallExpr, piped: Val | undefined, scope: Scope, ctx: Ctx): Val {
    const positional: PosArg[] = piped ? [{ val: piped, loc: piped.loc }] : [];
    const keywords: KwArg[] = [];
    for (const a of e.args) {
      const val = this.expr(a.value, scope, ctx);
      if (a.name) keywords.push({ name: a.name.text, nameLoc: a.name.loc, val, loc: a.value.loc });
      else positional.push({ val, loc: a.value.loc });
    }
    const name = e.callee.text;
    const block = ctx.blocks.get(name);
    if (block && this.broken(block.loc)) return { kind: "poison", loc: e.loc };
    if (block) return this.instantiate(block, e, positional, keywords, ctx);
    const def = languageOp(name);
    if (!def) {
      const alias = PYTORCH_NAMES[name.toLowerCase()];
      const hint = alias
        ? `modelc calls this op '${alias}' (PyTorch's ${name})`
        : didYouMean(name, [...Object.keys(OPS), ...ctx.blocks.keys()]);
      this.err("E0301", `unknown op or block '${name}'`, e.callee.loc, hint ? { hint } : {});
      return { kind: "poison", loc: e.loc };
    }
    // Leading tensor positionals are the op's tensor inputs.
    let nIn = 0;
    while (nIn < positional.length && ["tensor", "poison"].includes(positional[nIn]!.val.kind)) nIn++;
    const arity = def.arity === "variadic" ? Math.max(1, nIn) : def.arity;
    const inSlots: Slot[] = def.inputs
      ? def.inputs.map((i) => ({ name: i.name, kind: "tensor", optional: i.ifMissing !== undefined }))
      : Array.from({ length: arity }, (_, i) => ({ name: arity === 1 ? "x" : `x${i}`, kind: "tensor", optional: false }));
    const required = inSlots.filter((s) => !s.optional).length;
    if (nIn < required) {
      // Fewer tensors than inputs: report the missing input(s) at the call.
      this.err("E0402", `${name}: expects ${arity} tensor input${arity === 1 ? "" : "s"}, got ${nIn}`, e.loc, {
        hint: required === 1 ? `pipe a tensor into it: x -> ${name}(...)` : undefined,
      });
      return { kind: "poison", loc: e.loc };
    }
    if (def.inputs && nIn > inSlots.length) {
      // A tensor where the op's arguments start (PyTorch's (query, key, value, mask) to multihead_attention).
      const names = inSlots.map((s) => s.name).join(", ");
      this.err("E0405", `${name}: too many tensor inputs: takes at most ${inSlots.length} (${names}), got ${nIn}`, positional[inSlots.length]!.loc, {
        ...(def.name === "multihead_attention" ? { hint: MHA_QKV_HINT } : {}),
      });
      return { kind: "poison", loc: e.loc };
    }
    const slots: Slot[] = [
      ...inSlots,
      ...def.args.map((a) => ({
        name: a.name,
        kind: a.kind,
        optional: a.default !== undefined || a.optional === true,
        ...(a.choices ? { choices: a.choices } : {}),
      })),
    ];
    const reported = this.diags.length;
    const bound = bindArgs(name, slots, positional, keywords, e.loc, this.diags);
    const layer = this.layerName(e, def, ctx, undefined, signatureOf(name, slots, bound.values, this.diags.length > reported));
    if (bound.failed) return { kind: "poison", loc: e.loc };
    const inputs = this.inputValues(def, inSlots, bound.values);
    if (!inputs) return { kind: "poison", loc: e.loc };
    const args: Attrs = {};
    for (const a of def.args) {
      const given = bound.values.get(a.name);
      if (given) args[a.name] = toAttr(given.val);
      else if (a.default !== undefined) args[a.name] = a.default;
    }
    const argLocs = new Map<string, SourceLoc>([...bound.values].map(([k, v]) => [k, v.loc]));
    return this.applyOp(def, inputs, args, layer, e.loc, argLocs);
  }

  /**
   * The activation inputs of a call in slot order: given ones; omitted optional ones (OpDef.inputs) reuse
   * the earlier input named by `ifMissing` or, for "drop", are left out (a later given input is E0402).
   */
  private inputValues(def: OpDef, slots: Slot[], given: Map<string, PosArg>): Val[] | undefined {
    const out: Val[] = [];
    let dropped: string | undefined;
    for (const [k, s] of slots.entries()) {
      const v = given.get(s.name);
      if (v) {
        if (dropped !== undefined) {
          this.err("E0402", `${def.name}: '${s.name}' is given but '${dropped}' is not`, v.loc, { hint: `give '${dropped}' too` });
          return undefined;
        }
        out.push(v.val);
        continue;
      }
      const spec = def.inputs?.[k];
      if (spec?.ifMissing === "drop") dropped ??= s.name;
      else if (spec?.ifMissing !== undefined) out.push(out[def.inputs!.findIndex((i) => i.name === spec.ifMissing)]!);
    }
    return out;
  }

  /**
   * The full layer name of a call: user-given or automatic for param-creating ops. A user-given name used
   * again is shared (same weights, like calling one PyTorch module twice) when `sig` (callee + non-tensor
   * arguments) equals its first call's: `onShare` is called; otherwise E0304.
   */
  private layerName(e: CallExpr, def: OpDef | undefined, ctx: Ctx, onDuplicate?: () => void, sig?: string, onShare?: () => void): string | undefined {
    if (e.layer) {
      const full = ctx.namer.full(e.layer.text);
      const prev = ctx.namer.taken.get(full);
      if (prev) {
        if (sig !== undefined && this.layerSigs.get(full) === sig) {
          this.sharedLayers.add(full);
          onShare?.();
          return full;
        }
        // This call or the name's first one has an argument whose value is unknown because of an earlier error:
        // whether they would share weights cannot be told, so no E0304 (inner layers are named privately).
        if (sig === UNKNOWN_SIG || this.layerSigs.get(full) === UNKNOWN_SIG) {
          onDuplicate?.();
          return full;
        }
        this.err("E0304", `layer name '${full}' is already used`, e.layer.loc, {
          related: [{ loc: prev, message: "first used here" }],
          ...(this.layerSigs.get(full)?.startsWith(`${e.callee.text}(`) ? { hint: "calling a layer again shares its weights only with the same arguments" } : {}),
        });
        onDuplicate?.();
        return full;
      }
      ctx.namer.taken.set(full, e.layer.loc);
      if (sig !== undefined) this.layerSigs.set(full, sig);
      return full;
    }
    if (def && !def.params) return undefined;
    return ctx.namer.auto(def ? def.name : e.callee.text, e.loc);
  }

  /** Normalize args, create params, add the node; OpTypeErrors become E0404/E0501/E0502. */
  private applyOp(def: OpDef, inputs: Val[], args: Attrs, layer: string | undefined, loc: SourceLoc, argLocs: Map<string, SourceLoc>): Val {
    if (inputs.some((v) => v.kind !== "tensor")) return { kind: "poison", loc };
    const ids = inputs.map((v) => (v as Extract<Val, { kind: "tensor" }>).id);
    const types = ids.map((id) => this.b.typeOf(id));
    try {
      const attrs = def.normalize ? def.normalize(args, types) : args;
      const params = def.params ? def.params(types, attrs) : [];
      const pids = params.map((p) => this.param(layer ? `${layer}.${p.suffix}` : p.suffix, p.shape, p.init, p.kind, loc));
      const [out] = this.b.node(def.name, [...ids, ...pids], attrs, { ...(layer ? { layer } : {}), loc });
      return { kind: "tensor", id: out!, loc };
    } catch (err) {
      if (!(err instanceof OpTypeError)) throw err;
      this.reportOpError(err, def, ids, types, loc, argLocs);
      return { kind: "poison", loc };
    }
  }

  /**
   * The param/state `name`: new, or the existing one when a shared layer is called again (same shape,
   * else OpTypeError: the second call's input does not fit the shared weights).
   */
  private param(name: string, shape: number[], init: Parameters<GraphBuilder["param"]>[2], kind: "param" | "state", loc: SourceLoc): string {
    const prev = this.paramIds.get(name);
    const shared = [...this.sharedLayers].some((l) => name.startsWith(`${l}.`));
    if (prev !== undefined && shared) {
      const have = this.b.typeOf(prev).shape;
      if (showShape(have) !== showShape(shape))
        throw new OpTypeError(`shared layer: '${name}' is ${showShape(have)} from its first call, this call needs ${showShape(shape)}`);
      return prev;
    }
    const id = this.b.param(name, shape, init, kind, loc);
    if (prev === undefined) this.paramIds.set(name, id);
    return id;
  }

  private reportOpError(
    err: OpTypeError,
    def: OpDef,
    ids: string[],
    types: TensorType[],
    loc: SourceLoc,
    argLocs: Map<string, SourceLoc>,
  ): void {
    const hint = err.hint !== undefined ? { hint: err.hint } : {};
    if (err instanceof OpArgError) {
      this.err("E0404", err.message, argLocs.get(err.arg) ?? loc, hint);
      return;
    }
    const related: RelatedLoc[] = [];
    ids.forEach((id, i) => {
      const v = this.b.build().values[id]!;
      if (!v.loc) return;
      if (err.inputIndex !== undefined && err.inputIndex < ids.length && err.inputIndex !== i && ids.length > 1) return;
      const what = def.arity === 1 ? "input" : `input ${i + 1}`;
      related.push({ loc: v.loc, message: `${what} ${showShape(types[i]!.shape)} ${types[i]!.dtype} came from here` });
    });
    this.err(err instanceof OpDTypeError ? "E0502" : "E0501", err.message, loc, { ...hint, related });
  }

  /** Instantiate a block: bind its params, lower its body under the instance's layer prefix. */
  private instantiate(block: BlockDecl, e: CallExpr, positional: PosArg[], keywords: KwArg[], ctx: Ctx): Val {
    const name = block.name.text;
    if (ctx.stack.includes(name)) {
      this.err("E0305", `block '${name}' instantiates itself (${[...ctx.stack, name].join(" -> ")})`, e.callee.loc);
      return { kind: "poison", loc: e.loc };
    }
    const slots: Slot[] = block.params.map((p) => ({ name: p.name.text, kind: p.type, optional: p.default !== undefined }));
    const reported = this.diags.length;
    const bound = bindArgs(name, slots, positional, keywords, e.loc, this.diags);
    // A duplicate instance name is reported once; its inner layers are named in a private table
    // so they do not all repeat the error.
    let taken = this.layers;
    const sig = signatureOf(name, slots, bound.values, this.diags.length > reported);
    const prefix = this.layerName(e, undefined, ctx, () => (taken = new Map()), sig, () => (taken = new Map()))!;
    const inner: Ctx = { namer: new LayerNamer(prefix, taken), blocks: ctx.blocks, stack: [...ctx.stack, name] };
    const result = this.lowerBlockBody(block, bound.values, inner);
    return bound.failed ? { kind: "poison", loc: e.loc } : result;
  }

  /** Bind a block's parameters (given values, else defaults, else poison) and lower its body and result in `inner`. */
  private lowerBlockBody(block: BlockDecl, given: Map<string, PosArg>, inner: Ctx): Val {
    this.lowered.add(block);
    const scope = new Scope();
    for (const p of block.params) {
      const g = given.get(p.name.text);
      let val: Val;
      if (g) val = g.val;
      else if (p.default) val = this.expr(p.default, scope, inner);
      else val = { kind: "poison", loc: p.loc };
      scope.bind(p.name.text, val, p.name.loc);
    }
    for (const st of block.body) this.bindName(scope, st.name.text, this.expr(st.value, scope, inner), st.name.loc);
    return this.expr(block.result, scope, inner);
  }
}
