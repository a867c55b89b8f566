// Deep copy of a Graph, so every pass can be a pure function Graph -> Graph.
// Neighbours: passes/*.ts use it; ir/types.ts defines the (JSON) shape copied.

import type { Graph } from "../ir/types.js";

/** A deep copy of `g` (the IR is plain JSON data, so structuredClone is exact). */
export function cloneGraph(g: Graph): Graph {
  return structuredClone(g);
}
