// Drawing a graph as SVG for `modelc inspect --svg`: layout by @dagrejs/dagre (layered, top to
// bottom), SVG text written here. Neighbours: cli/inspect.ts calls graphToSvg; ir/graph.ts queries.

import dagre from "@dagrejs/dagre";
import { showShape } from "../ir/graph.js";
import type { Graph } from "../ir/types.js";

const FONT = 12;
const CHAR_W = 7.2; // monospace advance at 12px, for box widths
const LINE_H = 16;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

interface Box {
  lines: string[];
  kind: "input" | "op" | "output";
}

/**
 * Render `graph` as a standalone SVG document: one box per graph input (green), per node (op name,
 * layer name, output shape) and per graph output (blue); an edge per activation flowing between them
 * (params and constants are not drawn, the op box lists its parameter shapes). Deterministic for a
 * given graph. Node ids become SVG `id`s (`node-n3`) so tests and tools can find them.
 */
export function graphToSvg(graph: Graph): string {
  const g = new dagre.graphlib.Graph<{ rankdir: string; nodesep: number; ranksep: number; marginx: number; marginy: number }>();
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 28, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const boxes = new Map<string, Box>();
  const producer = new Map<string, string>();
  const add = (id: string, box: Box): void => {
    boxes.set(id, box);
    const width = Math.max(...box.lines.map((l) => l.length)) * CHAR_W + 20;
    g.setNode(id, { width, height: box.lines.length * LINE_H + 12 });
  };
  for (const i of graph.inputs) {
    add(`input-${i.name}`, { kind: "input", lines: [`input ${i.name}`, showShape(graph.values[i.value]!.type.shape)] });
    producer.set(i.value, `input-${i.name}`);
  }
  for (const n of graph.nodes) {
    const out = n.outputs.map((o) => showShape(graph.values[o]!.type.shape)).join(", ");
    const params = n.inputs
      .map((i) => graph.values[i]!)
      .filter((v) => v.kind === "param" || v.kind === "state")
      .map((v) => `${(v.name ?? v.id).split(".").pop()} ${showShape(v.type.shape)}`);
    add(`node-${n.id}`, { kind: "op", lines: [n.layer ? `${n.layer}: ${n.op}` : n.op, ...params, `→ ${out}`] });
    for (const o of n.outputs) producer.set(o, `node-${n.id}`);
  }
  for (const n of graph.nodes)
    for (const i of n.inputs) {
      const from = producer.get(i);
      if (from) g.setEdge(from, `node-${n.id}`);
    }
  for (const o of graph.outputs) {
    add(`output-${o.name}`, { kind: "output", lines: [`output ${o.name}`, showShape(graph.values[o.value]!.type.shape)] });
    const from = producer.get(o.value);
    if (from) g.setEdge(from, `output-${o.name}`);
  }
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph() as { width?: number; height?: number };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="${FONT}">`,
    `<title>${esc(graph.name)}</title>`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>`,
  ];
  for (const e of g.edges()) {
    const pts = (g.edge(e) as { points?: { x: number; y: number }[] }).points ?? [];
    const d = pts.map((p, k) => `${k === 0 ? "M" : "L"} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
    parts.push(`<path d="${d}" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>`);
  }
  const fill = { input: "#e3f4e1", op: "#f4f4f4", output: "#e1ecf8" };
  for (const id of g.nodes()) {
    const box = boxes.get(id)!;
    const n = g.node(id) as { x: number; y: number; width: number; height: number };
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    parts.push(`<g id="${esc(id)}">`);
    parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${n.width.toFixed(1)}" height="${n.height.toFixed(1)}" rx="5" fill="${fill[box.kind]}" stroke="#888"/>`);
    box.lines.forEach((l, k) => {
      const weight = k === 0 ? ` font-weight="bold"` : "";
      parts.push(`<text x="${n.x.toFixed(1)}" y="${(y + 6 + LINE_H * (k + 0.75)).toFixed(1)}" text-anchor="middle"${weight}>${esc(l)}</text>`);
    });
    parts.push(`</g>`);
  }
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
