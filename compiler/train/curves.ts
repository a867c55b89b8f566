// Learning curves: curves.csv (one row per epoch), curves.json (the whole history) and curves.svg (hand-
// written SVG polylines: loss panel and accuracy panel, axes, ticks, legend), written atomically each epoch.
// Neighbours: train/history.ts (the data), train/driver.ts (calls writeCurves), io/atomic.ts.

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { smooth, type History } from "./history.js";

/**
 * CSV of the epochs: epoch, step, lr, train_loss (the weighted total), [train_<loss>... unweighted, when the
 * losses are named], val_loss, [val_<loss>...], val_<metric>..., [weight_<loss>... when the epochs record
 * loss weights].
 */
export function curvesCsv(history: History): string {
  const eps = history.epochs;
  const all = [...new Set(eps.flatMap((e) => Object.keys(e.train.losses)))];
  // Named losses (several, or one not called "loss") get columns of their own, unweighted; one unnamed
  // loss would only repeat train_loss / val_loss.
  const lossNames = all.length > 1 || (all.length === 1 && all[0] !== "loss") ? all : [];
  const metricNames = [...new Set(eps.flatMap((e) => Object.keys(e.validation?.metrics ?? {})))];
  const weightNames = [...new Set(eps.flatMap((e) => Object.keys(e.weights ?? {})))];
  const header = ["epoch", "step", "lr", "train_loss", ...lossNames.map((n) => `train_${n}`), "val_loss", ...lossNames.map((n) => `val_${n}`), ...metricNames.map((n) => `val_${n}`),
    ...weightNames.map((n) => `weight_${n}`)];
  const num = (v: number | undefined): string => (v === undefined ? "" : String(v));
  const rows = eps.map((e) => [
    String(e.epoch), String(e.step), num(e.lr), num(e.train.loss), ...lossNames.map((n) => num(e.train.losses[n])),
    num(e.validation?.loss), ...lossNames.map((n) => num(e.validation?.losses[n])), ...metricNames.map((n) => num(e.validation?.metrics[n])),
    ...weightNames.map((n) => num(e.weights?.[n])),
  ]);
  return [header, ...rows].map((r) => r.map(csvCell).join(",")).join("\n") + "\n";
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

interface Series {
  label: string;
  color: string;
  points: [number, number][];
  width: number;
  dash?: string;
  markers?: boolean;
}

/** Legend layout below a panel: rows of 16 px, as many columns of equal width as fit in `w` (+ margins). */
const LEGEND_ROW = 16;
/** Vertical room under the plot frame for the tick labels and the "epoch" axis label. */
const AXIS_ROOM = 44;

function legendColumns(series: Series[], w: number): { cols: number; colW: number } {
  const longest = Math.max(0, ...series.map((s) => s.label.length));
  const colW = 30 + Math.ceil(longest * 6.2) + 14; // swatch + text (about 6.2 px per char at 11 px) + gap
  const cols = Math.max(1, Math.min(series.length, Math.floor((w + 40) / colW)));
  return { cols, colW: Math.max(colW, (w + 40) / cols) };
}

/** Height of a panel's legend (below the axis label). */
function legendHeight(series: Series[], w: number, cols?: number): number {
  const c = cols ?? legendColumns(series, w).cols;
  return Math.ceil(series.length / c) * LEGEND_ROW;
}

/**
 * One panel: frame, ticks, labels, polylines, and a legend below the plot area (under the x-axis label, in
 * columns, so it covers no data); returns SVG elements. `legendCols` fixes the number of legend columns
 * (e.g. 2: train and validation of one loss side by side).
 */
function panel(
  x0: number, y0: number, w: number, h: number, title: string, yLabel: string, xMax: number, series: Series[],
  yRange?: [number, number], legendCols?: number,
): string {
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  let [lo, hi] = yRange ?? [Math.min(0, ...ys), ys.length ? Math.max(...ys) : 1];
  if (!(hi > lo)) hi = lo + 1;
  const yt = niceTicks(lo, hi, 5);
  lo = Math.min(lo, yt[0]!);
  hi = Math.max(hi, yt[yt.length - 1]!);
  const xt = niceTicks(0, Math.max(1, xMax), 6).filter((v) => Number.isInteger(v) || xMax < 3);
  const px = (x: number): number => x0 + (x / Math.max(1, xMax)) * w;
  const py = (y: number): number => y0 + h - ((y - lo) / (hi - lo)) * h;
  const out: string[] = [];
  out.push(`<text x="${x0 + w / 2}" y="${y0 - 10}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#444"/>`);
  for (const t of yt) {
    const y = py(t).toFixed(1);
    out.push(`<line x1="${x0 - 4}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#ddd"/>`, `<text x="${x0 - 7}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  for (const t of xt) {
    const x = px(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${y0 + h}" x2="${x}" y2="${y0 + h + 4}" stroke="#444"/>`, `<text x="${x}" y="${y0 + h + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle">epoch</text>`);
  out.push(`<text transform="translate(${x0 - 48} ${y0 + h / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  const lay = legendColumns(series, w);
  const cols = legendCols ?? lay.cols;
  const colW = legendCols ? (w + 40) / legendCols : lay.colW;
  series.forEach((s) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1])).map((p) => `${px(p[0]).toFixed(1)},${py(Math.min(hi, Math.max(lo, p[1]))).toFixed(1)}`);
    if (pts.length > 0)
      out.push(`<polyline class="series" data-label="${esc(s.label)}" fill="none" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""} points="${pts.join(" ")}"/>`);
    if (s.markers) for (const p of pts) out.push(`<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="2.5" fill="${s.color}"/>`);
  });
  out.push(`<g class="legend">`);
  series.forEach((s, k) => {
    const lx = x0 - 20 + (k % cols) * colW;
    const ly = y0 + h + AXIS_ROOM + Math.floor(k / cols) * LEGEND_ROW + LEGEND_ROW / 2;
    out.push(`<line x1="${lx.toFixed(1)}" y1="${ly}" x2="${(lx + 22).toFixed(1)}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`);
    out.push(`<text x="${(lx + 28).toFixed(1)}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  out.push(`</g>`);
  return out.join("\n");
}

/** Accuracy axis: from 5 % below the lowest value (rounded down to a multiple of 5) to 100 %, so late gains are visible. */
function accuracyRange(series: Series[]): [number, number] {
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const low = ys.length ? Math.min(...ys) : 0;
  return [Math.max(0, Math.floor((low - 5) / 5) * 5), 100];
}

/**
 * The learning curves as a standalone SVG (hand-written polylines; no plotting library): left panel loss
 * (train loss per step, EMA-smoothed β = 0.9; train loss per epoch; validation loss per epoch), right
 * panel validation metrics per epoch (accuracy in %), each with axes, ticks and a legend. x = epochs.
 */
export function curvesSvg(history: History): string {
  const W = 900;
  const PW = 330;
  const PH = 260;
  const lossNames = [...new Set(history.epochs.flatMap((e) => Object.keys(e.train.losses)))];
  const weightNames = [...new Set(history.epochs.flatMap((e) => Object.keys(e.weights ?? {})))];
  const named = lossNames.length > 1 || (lossNames.length === 1 && lossNames[0] !== "loss");
  const perLoss = named || weightNames.length > 0;
  const weighted = history.epochs.some((e) => Object.values(e.weights ?? {}).some((w) => w !== 1));
  const xMax = Math.max(1, history.epochs.length, ...history.steps.map((s) => s.x));
  const sm = smooth(history.steps.map((s) => s.loss));
  const loss: Series[] = [
    { label: "train (per step, smoothed)", color: "#9ecae1", width: 1.2, points: history.steps.map((s, i) => [s.x, sm[i]!]) },
    { label: "train (epoch mean)", color: "#1f77b4", width: 2, markers: true, points: history.epochs.map((e) => [e.epoch, e.train.loss]) },
    { label: "validation", color: "#d62728", width: 2, markers: true, dash: "5 3", points: history.epochs.filter((e) => e.validation).map((e) => [e.epoch, e.validation!.loss]) },
  ];
  const metricNames = [...new Set(history.epochs.flatMap((e) => Object.keys(e.validation?.metrics ?? {})))];
  const colors = ["#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  const metrics: Series[] = metricNames.map((n, k) => ({
    label: `validation ${n}`, color: colors[k % colors.length]!, width: 2, markers: true,
    points: history.epochs.filter((e) => e.validation?.metrics[n] !== undefined).map((e) => [e.epoch, 100 * e.validation!.metrics[n]!]),
  }));
  // Rows: title (40) + plot (PH) + axis labels + legend (below the plot, sized to its entries) + gap.
  const top1 = 40;
  const row1 = Math.max(legendHeight(loss, PW), metrics.length > 0 ? legendHeight(metrics, PW) : 0);
  const body = [
    panel(70, top1, PW, PH, weighted ? "Loss (weighted total)" : "Loss", weighted ? "weighted loss" : "loss", xMax, loss),
    metrics.length > 0
      ? panel(530, top1, PW, PH, "Validation metrics", "accuracy (%)", xMax, metrics, accuracyRange(metrics))
      : `<text x="695" y="${top1 + PH / 2}" text-anchor="middle" fill="#888">no metrics</text>`,
  ];
  let H = top1 + PH + AXIS_ROOM + row1 + 16;
  if (perLoss) {
    // Second row: each named loss, unweighted (train solid, validation dashed), and the loss weights per epoch.
    const byLoss: Series[] = lossNames.flatMap((n, k) => [
      { label: `train ${n}`, color: colors[k % colors.length]!, width: 2, markers: true, points: history.epochs.map((e) => [e.epoch, e.train.losses[n] ?? NaN] as [number, number]) },
      { label: `validation ${n}`, color: colors[k % colors.length]!, width: 1.5, dash: "5 3", points: history.epochs.filter((e) => e.validation).map((e) => [e.epoch, e.validation!.losses[n] ?? NaN] as [number, number]) },
    ]);
    const weights: Series[] = weightNames.map((n, k) => ({
      label: `weight ${n}`, color: colors[lossNames.indexOf(n) >= 0 ? lossNames.indexOf(n) % colors.length : k % colors.length]!, width: 2, markers: true,
      points: history.epochs.filter((e) => e.weights?.[n] !== undefined).map((e) => [e.epoch, e.weights![n]!] as [number, number]),
    }));
    const top2 = H + 24;
    body.push(panel(70, top2, PW, PH, "Loss by name (unweighted)", "loss", xMax, byLoss, undefined, 2));
    body.push(weights.length > 0 ? panel(530, top2, PW, PH, "Loss weights", "weight", xMax, weights) : "");
    H = top2 + PH + AXIS_ROOM + Math.max(legendHeight(byLoss, PW, 2), weights.length > 0 ? legendHeight(weights, PW) : 0) + 16;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** Write DIR/curves.csv, DIR/curves.json and DIR/curves.svg atomically. */
export async function writeCurves(dir: string, history: History): Promise<void> {
  const json = JSON.stringify(history, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 1);
  await writeFileAtomic(join(dir, "curves.csv"), curvesCsv(history));
  await writeFileAtomic(join(dir, "curves.json"), json + "\n");
  await writeFileAtomic(join(dir, "curves.svg"), curvesSvg(history));
}
