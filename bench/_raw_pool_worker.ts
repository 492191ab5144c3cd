/// <reference lib="deno.worker" />
/** The raw baseline's worker: squares each number it is posted and posts back [id, result]. */
self.onmessage = (event: MessageEvent<[number, number]>) => {
  const [id, x] = event.data;
  self.postMessage([id, x * x]);
};
