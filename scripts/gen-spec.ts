// Regenerates the op reference section of spec/language.md from the op table.
// Neighbours: compiler/ir/ops/docs.ts (rendering); test/spec.test.ts fails when the file is stale.

import { readFileSync } from "node:fs";
import { fillOpReference } from "../compiler/ir/ops/docs.js";
import { writeFileAtomic } from "../compiler/io/atomic.js";

const path = "spec/language.md";
const before = readFileSync(path, "utf8");
const after = fillOpReference(before);
if (after === before) console.log(`${path}: op reference up to date`);
else {
  await writeFileAtomic(path, after);
  console.log(`${path}: op reference regenerated`);
}
