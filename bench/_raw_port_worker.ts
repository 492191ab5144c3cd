// Raw baseline for queue throughput: a producer or consumer over a MessagePort.
const scope = globalThis as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
};
let port: MessagePort;
scope.onmessage = ({ data }) => {
  if (data.port) {
    port = data.port;
    if (data.role === "consumer") {
      let left = 0, sum = 0;
      scope.onmessage = ({ data }) => (left = data, sum = 0);
      port.onmessage = ({ data }) => {
        sum += data.id;
        if (--left === 0) scope.postMessage(sum);
      };
    }
    return;
  }
  for (let i = 0; i < data; i++) port.postMessage({ id: i, name: "item" });
};
