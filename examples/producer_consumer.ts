// Producers and consumers on a Queue (seed 004, "基于队列的生产者消费者模式").
// Three producers put (name, i) pairs; two consumers get until they take a
// null, the sentinel the main process puts once per consumer after joining
// the producers (Python's `q.put(None)`). One consumer is an OS process and
// the other an isolate: both use the queue the same way. The consumers also
// report what they ate on a second queue, so the main process can check that
// every item was consumed exactly once.
import { currentProcess, Process, Queue } from "../mod.ts";

type Item = [name: string, i: number];

/** `time.sleep(random.randint(1, 3))`, shortened to 100 to 300 ms. */
function sleepAWhile(): Promise<void> {
  const ms = 100 * (1 + Math.floor(Math.random() * 3));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Who is printing: Python printed `os.getpid()`, which an isolate shares with its parent. */
function me(): string {
  return `${currentProcess().name} pid ${Deno.pid}`;
}

// def consumer(queue):
export async function consumer(queue: Queue<Item | null>, eaten: Queue<Item>): Promise<void> {
  while (true) {
    const res = await queue.get(); // res = queue.get()
    if (res === null) break; // if res is None: break  (the sentinel: stop)
    await sleepAWhile();
    console.log(`[${me()} ate ${JSON.stringify(res)}]`);
    await eaten.put(res);
  }
}

// def producer(name, queue, count=3):
export async function producer(name: string, queue: Queue<Item | null>, count = 3): Promise<void> {
  for (let i = 0; i < count; i++) {
    await sleepAWhile();
    const res: Item = [name, i]; // res = (name, i)
    await queue.put(res); // queue.put(res)
    console.log(`[${me()} produced ${JSON.stringify(res)}]`);
  }
}

if (import.meta.main) {
  const q = new Queue<Item | null>(); // q = Queue()
  const eaten = new Queue<Item>();
  // The producers: p1 = Process(target=producer, args=('xxx', q, 2)), and so on.
  const producers = [
    new Process({ target: producer, args: ["xxx", q, 2], name: "producer-xxx" }),
    new Process({ target: producer, args: ["yyy", q, 3], name: "producer-yyy" }),
    new Process({ target: producer, args: ["zzz", q, 5], name: "producer-zzz" }),
  ];
  // The consumers: c1 = Process(target=consumer, args=(q,)), c2 likewise.
  const consumers = [
    new Process({ target: consumer, args: [q, eaten], name: "consumer-1 (isolate)" }),
    new Process({
      target: consumer,
      args: [q, eaten],
      name: "consumer-2 (OS process)",
      backend: "subprocess",
    }),
  ];
  for (const p of [...producers, ...consumers]) await p.start();

  // Every producer must be done before the sentinels go in.
  for (const p of producers) await p.join();
  // One sentinel per consumer: q.put(None) twice.
  for (const _ of consumers) await q.put(null);
  console.log("main: the producers are done and a sentinel is in for each consumer");

  // Python's main ends here and its exit waits for the consumers; we join
  // them to check the tally.
  for (const c of consumers) await c.join();
  eaten.close(); // ends the for-await below once the queue is drained
  const seen = new Set<string>();
  let count = 0;
  for await (const item of eaten) {
    seen.add(JSON.stringify(item));
    count++;
  }
  const expected = 2 + 3 + 5;
  const once = count === expected && seen.size === expected;
  console.log(
    `consumed ${count} items` + (once ? ", every one exactly once" : `, EXPECTED ${expected} DISTINCT ONES`),
  );
  console.log(`consumer exit codes: ${consumers.map((c) => c.exitCode).join(", ")}`);
  if (!once) Deno.exit(1);
}
