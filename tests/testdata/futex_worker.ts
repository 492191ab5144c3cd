/**
 * A plain Worker (no troupe child) for `futex_test.ts`: sleeps on word 0 of
 * the buffer it is sent (counted in word 1) until it changes, then posts
 * whether it was woken and the value it read.
 */

import { waitChange } from "../../src/_futex.ts";

const scope = self as unknown as { postMessage(message: unknown): void };

addEventListener("message", async (event) => {
  const word = new Int32Array((event as MessageEvent<SharedArrayBuffer>).data);
  const woke = await waitChange(word, 0, 0, { until: performance.now() + 30_000 }, 1);
  scope.postMessage({ woke, value: Atomics.load(word, 0) });
});
