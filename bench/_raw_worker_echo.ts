// Raw baseline: a worker that echoes every message.
const scope = globalThis as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
};
scope.onmessage = (event) => scope.postMessage(event.data);
