/** What the manager rows run in children: proxy calls, timed in rounds. */

import type { DictProxy, Queue } from "../mod.ts";

export const MODULE = import.meta.url;

/** `rounds` rounds of `n` `d.get()` calls; puts µs per call for each round. */
export async function timeCalls(d: DictProxy<string, number>, n: number, rounds: number, out: Queue<number>) {
  for (let i = 0; i < 200; i++) await d.get("x");
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await d.get("x");
    await out.put((performance.now() - t0) * 1000 / n);
  }
}
