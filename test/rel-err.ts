// The error measure of the golden tests: worst |got - want| / max(1, |want|), NaN anywhere = Infinity.
// Neighbours: layernorm, fusion, cvae-ops and attention golden tests (test/attention.helpers.ts re-exports it).

import { expect } from "vitest";

/** Worst |got - want| / max(1, |want|) over equal-length arrays (asserts the lengths match; NaN counts as infinite). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!));
    w = Math.max(w, Number.isNaN(e) ? Infinity : e);
  }
  return w;
}
