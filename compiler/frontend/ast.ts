// AST of a `.model` file: what the parser (frontend/parser.ts + visitor.ts) produces and
// frontend/lower.ts consumes. Every node carries its SourceLoc for diagnostics.
//
// Language v1 in one example (spec/language.md is the reference):
//
//   # comments start with '#' or '//'
//   block stage(x, channels: int, k: int = 3) {          # reusable, parameterized block
//     let y = x -> conv: conv2d(channels, kernel=k, padding="same") -> relu
//     return y -> maxpool2d(2)
//   }
//
//   model mnist_cnn {
//     input image: f32[1, 28, 28]                       # per-sample shape; batch is dynamic
//     let h = image -> stage1: stage(16) -> stage2: stage(32) -> flatten
//     let logits = h -> fc1: dense(128) -> relu -> dropout(0.25) -> fc2: dense(10)
//     output logits                                      # output by name
//     output probs = softmax(logits, axis=1)             # output with expression
//   }
//
// Pipelines: `a -> f(args)` is `f(a, args)`; a bare `-> relu` is `relu(a)`. `name: f(...)` names the
// layer (weights "name.weight"). Blocks instantiated as `name: block(...)` prefix their layers'
// names ("stage1.conv.weight"), like nested PyTorch modules. `a + b` is add(a, b), `a * b` is mul(a, b);
// precedence: `->` binds tightest, then `*`, then `+`.

import type { SourceLoc } from "../ir/types.js";

export interface ModelFile {
  kind: "file";
  file: string;
  blocks: BlockDecl[];
  models: ModelDecl[];
  loc: SourceLoc;
}

export interface ModelDecl {
  kind: "model";
  name: Ident;
  /** Blocks declared inside the model body (visible only inside it). */
  blocks: BlockDecl[];
  statements: Statement[];
  /** The `train { ... }` section, if the model has one (at most one; a second is E0802). */
  train?: TrainDecl;
  loc: SourceLoc;
}

/**
 * `train { data = mnist()  loss = cross_entropy(logits, label)  ... }`: the training section of a model
 * (spec/training.md §1). Entries are kept in source order, unchecked; frontend/lower-train.ts checks them.
 */
export interface TrainDecl {
  kind: "train";
  entries: TrainEntry[];
  /** Loc of the `train` word (for "first train section here" notes). */
  keyword: SourceLoc;
  loc: SourceLoc;
}

/** One `key = expr` entry of a train section; `loss NAME = expr` carries `name`. */
export interface TrainEntry {
  key: Ident;
  /** The loss name in `loss NAME = expr` (only losses are named). */
  name?: Ident;
  value: Expr;
  loc: SourceLoc;
}

export type Statement = InputDecl | LetStmt | OutputStmt;

/** `input image: f32[1, 28, 28]` */
export interface InputDecl {
  kind: "input";
  name: Ident;
  dtype: Ident;
  /** Per-sample dims (batch excluded). */
  shape: NumberLit[];
  loc: SourceLoc;
}

/** `let h = expr` */
export interface LetStmt {
  kind: "let";
  name: Ident;
  value: Expr;
  loc: SourceLoc;
}

/** `output logits` or `output probs = expr` */
export interface OutputStmt {
  kind: "output";
  name: Ident;
  /** Absent for `output name` (refers to an existing binding of that name). */
  value?: Expr;
  loc: SourceLoc;
}

/** `block stage(x, channels: int, k: int = 3) { let ...; return expr }` */
export interface BlockDecl {
  kind: "block";
  name: Ident;
  params: BlockParam[];
  body: LetStmt[];
  result: Expr;
  loc: SourceLoc;
}

/** A block parameter; without a type annotation it is a tensor. */
export interface BlockParam {
  name: Ident;
  type: "tensor" | "int" | "float" | "bool" | "string" | "ints";
  default?: Expr;
  loc: SourceLoc;
}

export type Expr = NameRef | CallExpr | PipeExpr | BinaryExpr | NumberLit | StringLit | BoolLit | ListLit;

export interface Ident {
  kind: "ident";
  text: string;
  loc: SourceLoc;
}

/** A reference to a binding, input, or block parameter. */
export interface NameRef {
  kind: "name";
  name: string;
  loc: SourceLoc;
}

/** `layer: op(args)` or `op(args)`; `op` may name a built-in op or a block. */
export interface CallExpr {
  kind: "call";
  callee: Ident;
  /** Layer name given with `name: ...`. */
  layer?: Ident;
  args: Arg[];
  loc: SourceLoc;
}

/** Positional (`name` undefined) or keyword argument. */
export interface Arg {
  name?: Ident;
  value: Expr;
  loc: SourceLoc;
}

/**
 * `head -> stage -> stage`. Each stage is a CallExpr whose first tensor argument is the
 * result of the previous stage (a bare name `relu` is parsed as a call with no args).
 */
export interface PipeExpr {
  kind: "pipe";
  head: Expr;
  stages: CallExpr[];
  loc: SourceLoc;
}

/** `a + b` (add) or `a * b` (mul). */
export interface BinaryExpr {
  kind: "binary";
  op: "+" | "*";
  left: Expr;
  right: Expr;
  loc: SourceLoc;
}

export interface NumberLit {
  kind: "number";
  value: number;
  /** True when written without a '.' or exponent (e.g. `16`). */
  isInt: boolean;
  loc: SourceLoc;
}

export interface StringLit {
  kind: "string";
  value: string;
  loc: SourceLoc;
}

export interface BoolLit {
  kind: "bool";
  value: boolean;
  loc: SourceLoc;
}

/** `[3, 3]` */
export interface ListLit {
  kind: "list";
  items: Expr[];
  loc: SourceLoc;
}
