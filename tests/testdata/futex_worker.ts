/**
 * A plain Worker (no troupe child) for `futex_test.ts`: sleeps on word 0 of
 * the buffer it is sent (counted in word 1) until it changes or `ms` pass,
 * then posts what the wait resolved to, the value it read and how long it
 * waited.
 */

import { waitChange } from "../../src/core/_futex.ts";

const scope = self as unknown as { postMessage(message: unknown): void };

addEventListener("message", async (event) => {
  const { buffer, ms } = (event as MessageEvent<{ buffer: SharedArrayBuffer; ms: number }>).data;
  const word = new Int32Array(buffer);
  const start = performance.now();
  const woke = await waitChange(word, 0, 0, { until: start + ms }, 1);
  scope.postMessage({ woke, value: Atomics.load(word, 0), waited: performance.now() - start });
});
