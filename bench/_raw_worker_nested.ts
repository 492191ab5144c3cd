// Raw baseline: a worker that starts workers of its own, the way a naive port would host grandchildren.
const scope = globalThis as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
};
scope.onmessage = async (event) => {
  const samples: number[] = [];
  for (let i = 0; i < (event.data as number); i++) {
    const t0 = performance.now();
    const nested = new Worker(new URL("./_raw_worker_hello.ts", import.meta.url), { type: "module" });
    await new Promise((resolve) => nested.onmessage = resolve);
    samples.push(performance.now() - t0);
    nested.terminate();
  }
  scope.postMessage(samples);
};
