// A small supervision tree: a cache that keeps its state and a flaky worker
// that crashes now and then. The supervisor restarts the worker each time
// (one_for_one), and the cache, its sibling, keeps serving without noticing.
import { currentProcess, serve, Supervisor, type SupervisorEventDetail } from "../mod.ts";

type CacheMsg = { op: "put"; key: string; value: number } | { op: "get"; key: string };

/** A key-value store: tells put, asks get. */
export function cache() {
  return serve<CacheMsg, number | undefined, Map<string, number>>({
    init: () => new Map(),
    tell: (msg, store) => {
      if (msg.op === "put") store.set(msg.key, msg.value);
    },
    ask: (msg, store) => store.get(msg.key),
  });
}

/** Squares numbers, but crashes on every multiple of 4. */
export function flaky() {
  return serve<number, number>({
    init: () => console.log(`  ${currentProcess().name} started (pid ${currentProcess().pid})`),
    ask: (n) => {
      if (n % 4 === 0) throw new Error(`cannot stand ${n}`);
      return n * n;
    },
  });
}

if (import.meta.main) {
  await using sup = new Supervisor({
    strategy: "one_for_one",
    intensity: 5,
    periodMs: 10_000,
    children: [
      { id: "cache", target: cache },
      { id: "flaky", target: flaky, backend: "subprocess" },
    ],
  });
  sup.addEventListener("exited", (event) => {
    const detail = (event as CustomEvent<SupervisorEventDetail>).detail;
    if (detail.type === "exited") {
      console.log(`  ${detail.id} exited (${detail.reason}, code ${detail.exitCode})`);
    }
  });
  await sup.start();
  const store = sup.ref<CacheMsg, number | undefined>("cache");
  const squares = sup.ref<number, number>("flaky");

  for (let n = 1; n <= 9; n++) {
    try {
      const square = await squares.ask(n);
      store.tell({ op: "put", key: `sq${n}`, value: square });
      console.log(`${n}² = ${square}`);
    } catch (error) {
      console.log(`${n}: the worker crashed (${(error as Error).message}); the supervisor restarts it`);
    }
  }
  const kept = [];
  for (let n = 1; n <= 9; n++) kept.push(await store.ask({ op: "get", key: `sq${n}` }));
  console.log(`the cache kept every square through the crashes: ${JSON.stringify(kept)}`);
}
