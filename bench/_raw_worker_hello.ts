// Raw baseline: a worker that says hello as soon as it is loaded.
(globalThis as unknown as { postMessage(m: unknown): void }).postMessage("hello");
