/**
 * A plain Worker (no troupe child) for `futex_test.ts`: sleeps on word 0 of
 * the buffer it is sent (counted in word 1) until it changes, then posts
 * whether it was woken and the value it read.
 */

import { waitChange } from "../../src/_futex.ts";

self.onmessage = async ({ data }: MessageEvent<SharedArrayBuffer>) => {
  const word = new Int32Array(data);
  const woke = await waitChange(word, 0, 0, { until: performance.now() + 30_000 }, 1);
  self.postMessage({ woke, value: Atomics.load(word, 0) });
};
