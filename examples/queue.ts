// A message queue between processes (seed 002, "消息队列"): `Queue(maxsize)`,
// `put` and `get` with `block` and `timeout`, `full()`, `empty()`, `qsize()`
// and `close()`. The main process makes requests on a bounded queue; a child
// handles them, and stops when the queue stays empty for a second.
import { currentProcess, Process, Queue, QueueClosedError, QueueEmptyError, QueueFullError } from "../mod.ts";

type Request = [x: number, y: number];

// Python's timeout is in seconds (q.get(timeout=1)); troupe's is in milliseconds.
const IDLE_MS = 1000;

export async function handle(q: Queue<Request>): Promise<void> {
  let handled = 0;
  while (true) {
    await new Promise((resolve) => setTimeout(resolve, 50)); // sleep(0.05): slower than the requests
    let request: Request;
    try {
      request = await q.get({ timeout: IDLE_MS }); // x, y = q.get(timeout=1)
    } catch (error) {
      if (!(error instanceof QueueEmptyError)) throw error; // except queue.Empty: break
      break;
    }
    const [x, y] = request;
    console.log(`  ${currentProcess().name}: ${x} + ${y} = ${x + y}`);
    handled++;
  }
  console.log(
    `${currentProcess().name}: the queue stayed empty for ${IDLE_MS} ms; handled ${handled} requests`,
  );
}

function randint(a: number, b: number): number {
  return a + Math.floor(Math.random() * (b - a + 1));
}

if (import.meta.main) {
  const q = new Queue<Request>(3); // q = Queue(3): at most 3 messages

  // In one process first: fill it up and see put refuse.
  for (let i = 0; i < 3; i++) await q.put([randint(0, 100), randint(0, 100)]); // q.put((x, y))
  console.log(`main: qsize()=${q.qsize()} full()=${q.full()} empty()=${q.empty()}`);
  try {
    await q.put([0, 0], { block: false }); // q.put(data, block=False) raises queue.Full
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error;
    console.log(`main: put(block=False) on a full queue: ${error.name}`);
  }
  try {
    await q.put([0, 0], { timeout: 200 }); // q.put(data, timeout=0.2) raises queue.Full
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error;
    console.log(`main: put(timeout=0.2 s) on a full queue: ${error.name}: ${error.message}`);
  }

  // Now a child handles requests while the main process makes more: each
  // put waits while the queue is full, so the two run in step.
  const p = new Process({ target: handle, args: [q], name: "handler" });
  await p.start();
  for (let i = 0; i < 7; i++) await q.put([randint(0, 100), randint(0, 100)]);
  console.log("main: made 10 requests in all");
  await p.join();
  console.log(`main: after the child: qsize()=${q.qsize()} empty()=${q.empty()}`);

  q.close(); // q.close()
  try {
    await q.get();
  } catch (error) {
    if (!(error instanceof QueueClosedError)) throw error;
    console.log(`main: get() after close(): ${error.name}`);
  }
}
