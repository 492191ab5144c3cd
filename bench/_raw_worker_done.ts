// Raw baseline: a worker that reports it is done and closes itself.
const scope = globalThis as unknown as { postMessage(m: unknown): void; close(): void };
scope.postMessage("done");
scope.close();
