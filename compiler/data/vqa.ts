// The `mnist_vqa()` data source: each MNIST digit paired with one template yes/no question about it
// ("is it even", "is it seven", "is it bigger than three"), balanced so neither the image nor the question
// alone predicts the answer. Neighbours: data/mnist.ts (images), train/data.ts loads it; spec/training.md §1.

import { type Dataset, makeDataset } from "./dataset.js";
import { mnistDataset } from "./mnist.js";
import { mixSeed, Xoshiro128 } from "../util/rng.js";

/** Word vocabulary; the id of a word is its index. 0 is padding. */
export const VQA_VOCAB: readonly string[] = [
  "<pad>", "is", "it", "even", "odd", "bigger", "smaller", "than",
  "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/** Question length L: every question is padded with 0 to this many token ids. */
export const VQA_MAX_LEN = 5;

const NUMBER_WORDS = VQA_VOCAB.slice(8);

/** One template question: its text and its answer for a digit (true = yes). */
export interface VqaQuestion {
  family: "parity" | "identity" | "compare";
  text: string;
  answer: (digit: number) => boolean;
}

/**
 * The 30 template questions, in a fixed order (the `question_id` field indexes this list):
 * parity "is it even" / "is it odd"; identity "is it K" (K = zero..nine); comparisons
 * "is it bigger than K" (K = zero..eight) and "is it smaller than K" (K = one..nine).
 */
export const VQA_QUESTIONS: readonly VqaQuestion[] = [
  { family: "parity", text: "is it even", answer: (d) => d % 2 === 0 },
  { family: "parity", text: "is it odd", answer: (d) => d % 2 === 1 },
  ...NUMBER_WORDS.map((w, k): VqaQuestion => ({ family: "identity", text: `is it ${w}`, answer: (d) => d === k })),
  ...NUMBER_WORDS.slice(0, 9).map((w, k): VqaQuestion => ({ family: "compare", text: `is it bigger than ${w}`, answer: (d) => d > k })),
  ...NUMBER_WORDS.slice(1).map((w, i): VqaQuestion => ({ family: "compare", text: `is it smaller than ${w}`, answer: (d) => d < i + 1 })),
];

/**
 * Token ids of a question text (words separated by spaces), padded with 0 to VQA_MAX_LEN.
 * Errors: a word outside VQA_VOCAB (names it and lists the vocabulary), more than VQA_MAX_LEN words.
 */
export function tokenizeQuestion(text: string): Int32Array {
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
  if (words.length > VQA_MAX_LEN) throw new Error(`mnist_vqa: question '${text}' has ${words.length} words, at most ${VQA_MAX_LEN}`);
  const out = new Int32Array(VQA_MAX_LEN);
  words.forEach((w, i) => {
    const id = VQA_VOCAB.indexOf(w);
    if (id <= 0) throw new Error(`mnist_vqa: unknown word '${w}' in '${text}'; vocabulary: ${VQA_VOCAB.slice(1).join(", ")}`);
    out[i] = id;
  });
  return out;
}

/** The text of token ids (padding dropped). */
export function questionText(ids: ArrayLike<number>): string {
  const words: string[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) words.push(VQA_VOCAB[ids[i]!] ?? `<${ids[i]}>`);
  return words.join(" ");
}

/**
 * The question distribution pi(q | digit, answer) as two matrices M[a][q][d] (a = 0 no, 1 yes) with
 * M[a][q][d] = 0 unless question q's answer for digit d is a, row sums rho_q / 2 (rho: each family 1/3,
 * uniform within the family) and column sums p_d / 2 (p: digit frequencies). Found by iterative proportional
 * fitting (Sinkhorn) from the support pattern: the maximum-entropy such table. Equal row sums for yes and no
 * make every question yes 50%; sampling a = yes with probability 1/2 per digit makes every digit yes 50%.
 * Errors: no convergence (the marginals cannot be met).
 */
export function vqaQuestionTable(p: readonly number[]): number[][][] {
  const Q = VQA_QUESTIONS.length;
  const famSize = { parity: 0, identity: 0, compare: 0 };
  for (const q of VQA_QUESTIONS) famSize[q.family]++;
  const rho = VQA_QUESTIONS.map((q) => 1 / 3 / famSize[q.family]);
  const tables: number[][][] = [];
  for (const a of [0, 1]) {
    const M: number[][] = VQA_QUESTIONS.map((q) => p.map((_, d): number => (q.answer(d) === (a === 1) ? 1 : 0)));
    let err = Infinity;
    for (let it = 0; it < 5000 && err > 1e-12; it++) {
      for (let q = 0; q < Q; q++) {
        const s = M[q]!.reduce((x, y) => x + y, 0);
        for (let d = 0; d < p.length; d++) M[q]![d]! *= rho[q]! / 2 / s;
      }
      err = 0;
      for (let d = 0; d < p.length; d++) {
        let s = 0;
        for (let q = 0; q < Q; q++) s += M[q]![d]!;
        err = Math.max(err, Math.abs(s - p[d]! / 2));
        for (let q = 0; q < Q; q++) M[q]![d]! *= p[d]! / 2 / s;
      }
    }
    if (err > 1e-9) throw new Error(`mnist_vqa: the balanced question table did not converge (residual ${err})`);
    tables.push(M);
  }
  return tables;
}

/** Options of mnistVqaDataset. */
export interface MnistVqaOptions {
  /** Seed of the answer and question draws (default 0). The same seed gives the same data set. */
  seed?: number;
  /** Images and digit labels (default: the `mnist` package's 10,000 digits, data/mnist.ts). */
  mnist?: Dataset;
}

/**
 * The VQA data set: per image one question, fields `image` f32 [1, 28, 28] (as mnist()), `question`
 * i32 [VQA_MAX_LEN] (token ids, 0-padded), `answer` i32 [] (0 no, 1 yes), `label` i32 [] (the digit) and
 * `question_id` i32 [] (index into VQA_QUESTIONS). Construction (deterministic for a seed): per digit,
 * its images in a seeded order, the first half (rounded by a seeded coin when odd) answer yes, the rest no;
 * within each (digit, answer) group the questions are allotted in proportion to vqaQuestionTable's
 * column (largest remainders) and dealt in a seeded order. So every digit is yes 50% (±1 image) and every
 * question yes ~50% (within rounding): the image alone and the question alone are at chance.
 * Errors: a `label` outside 0..9.
 */
export function mnistVqaDataset(options: MnistVqaOptions = {}): Dataset {
  const mn = options.mnist ?? mnistDataset();
  const seed = options.seed ?? 0;
  const labels = mn.fields["label"]!.data as Int32Array;
  const n = mn.count;
  const byDigit: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < n; i++) {
    const d = labels[i]!;
    if (!(d >= 0 && d <= 9)) throw new Error(`mnist_vqa: label ${d} of sample ${i} is not a digit 0..9`);
    byDigit[d]!.push(i);
  }
  const p = byDigit.map((ix) => ix.length / n);
  const table = vqaQuestionTable(p);
  const question = new Int32Array(n * VQA_MAX_LEN);
  const answer = new Int32Array(n);
  const qid = new Int32Array(n);
  const tokens = VQA_QUESTIONS.map((q) => tokenizeQuestion(q.text));
  for (let d = 0; d < 10; d++) {
    const rng = new Xoshiro128(mixSeed(seed, 0x5a11, d));
    const ix = shuffled(byDigit[d]!, rng);
    const nYes = Math.floor(ix.length / 2) + (ix.length % 2 === 1 && rng.nextFloat() < 0.5 ? 1 : 0);
    for (const a of [1, 0]) {
      const group = a === 1 ? ix.slice(0, nYes) : ix.slice(nYes);
      const col = table[a]!.map((row) => row[d]!);
      const total = col.reduce((x, y) => x + y, 0);
      const exact = col.map((w) => (w / total) * group.length);
      const counts = exact.map(Math.floor);
      let left = group.length - counts.reduce((x, y) => x + y, 0);
      const order = exact.map((e, q) => [e - Math.floor(e), q] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
      for (let k = 0; left > 0; k++, left--) counts[order[k]![1]]!++;
      const deal: number[] = [];
      counts.forEach((c, q) => {
        for (let k = 0; k < c; k++) deal.push(q);
      });
      const dealt = shuffled(deal, rng);
      group.forEach((i, k) => {
        const q = dealt[k]!;
        qid[i] = q;
        answer[i] = a;
        question.set(tokens[q]!, i * VQA_MAX_LEN);
      });
    }
  }
  return makeDataset(
    {
      image: mn.fields["image"]!,
      question: { dtype: "i32", shape: [VQA_MAX_LEN], data: question },
      answer: { dtype: "i32", shape: [], data: answer },
      label: mn.fields["label"]!,
      question_id: { dtype: "i32", shape: [], data: qid },
    },
    n,
    "mnist_vqa",
  );
}

/** Fisher-Yates shuffle of a copy. */
function shuffled<T>(xs: readonly T[], rng: Xoshiro128): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextBelow(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
