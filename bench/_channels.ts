/**
 * The benchmark's queue and pipe rows: troupe's Queue and Pipe against raw
 * MessagePorts and postMessage, and against Python's multiprocessing. Every
 * side keeps its processes running across samples, so a sample times the
 * traffic alone, not process start-up.
 */

import { Pipe, Process, Queue } from "../mod.ts";
import { pythonSamples } from "./_python.ts";

const here = (path: string) => new URL(path, import.meta.url);
const module = here("./_channel_targets.ts").href;
const { consume, echo, produce, produceMillion } = await import("./_channel_targets.ts");

/** Items per queue-throughput sample, and pings per round-trip sample. */
export const ITEMS = 50_000;
export const PINGS = 2_000;

/** Two raw workers joined by a MessageChannel: the producer posts, the consumer counts. */
export function rawPortPair(): { sample: () => Promise<number>; close: () => void } {
  const [producer, consumer] = [0, 1].map(() =>
    new Worker(here("./_raw_port_worker.ts"), { type: "module" })
  );
  const { port1, port2 } = new MessageChannel();
  producer!.postMessage({ port: port1, role: "producer" }, [port1]);
  consumer!.postMessage({ port: port2, role: "consumer" }, [port2]);
  return {
    async sample() {
      const done = new Promise((resolve) => consumer!.onmessage = resolve);
      consumer!.postMessage(ITEMS);
      const t0 = performance.now();
      producer!.postMessage(ITEMS);
      await done;
      return (performance.now() - t0) * 1000 / ITEMS;
    },
    close() {
      producer!.terminate();
      consumer!.terminate();
    },
  };
}

/** A troupe producer and consumer process sharing one queue. */
export async function queuePair(
  producerBackend: "worker" | "subprocess",
  consumerBackend: "worker" | "subprocess",
): Promise<{ sample: () => Promise<number>; close: () => Promise<void> }> {
  const q = new Queue(), toProducer = new Queue<number | null>(), toConsumer = new Queue<number | null>();
  const done = new Queue<number>();
  const producer = new Process({ target: produce, args: [q, toProducer], module, backend: producerBackend });
  const consumer = new Process({
    target: consume,
    args: [q, toConsumer, done],
    module,
    backend: consumerBackend,
  });
  await Promise.all([producer.start(), consumer.start()]);
  const expected = ITEMS * (ITEMS - 1) / 2;
  return {
    async sample() {
      await toConsumer.put(ITEMS);
      const t0 = performance.now();
      await toProducer.put(ITEMS);
      const sum = await done.get({ timeout: 120_000 });
      const us = (performance.now() - t0) * 1000 / ITEMS;
      if (sum !== expected) throw new Error(`queue row: items were lost or repeated (sum ${sum})`);
      return us;
    },
    async close() {
      await toProducer.put(null);
      await toConsumer.put(null);
      await Promise.all([producer.join(), consumer.join()]);
    },
  };
}

/** A raw worker that echoes postMessages: the round-trip baseline. */
export function rawEcho(): { sample: () => Promise<number>; close: () => void } {
  const worker = new Worker(here("./_raw_worker_echo.ts"), { type: "module" });
  return {
    async sample() {
      let left = PINGS;
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        worker.onmessage = () => --left === 0 ? resolve() : worker.postMessage(left);
        worker.postMessage(left);
      });
      return (performance.now() - t0) * 1000 / PINGS;
    },
    close: () => worker.terminate(),
  };
}

/** A troupe child that echoes on its end of a Pipe. */
export async function pipeEcho(
  backend: "worker" | "subprocess",
): Promise<{ sample: () => Promise<number>; close: () => Promise<void> }> {
  const [mine, theirs] = Pipe<number>();
  const child = new Process({ target: echo, args: [theirs], module, backend });
  await child.start();
  theirs.close();
  return {
    async sample() {
      const t0 = performance.now();
      for (let i = 0; i < PINGS; i++) {
        mine.send(i);
        await mine.recv();
      }
      return (performance.now() - t0) * 1000 / PINGS;
    },
    async close() {
      mine.close();
      await child.join();
    },
  };
}

/** Python's multiprocessing Queue (µs per item) or Pipe (µs per round trip); undefined without python3. */
export function pythonChannel(mode: "queue" | "pipe", runs: number): Promise<number[] | undefined> {
  return pythonSamples("./_python_channels.py", [
    mode,
    String(mode === "queue" ? ITEMS : PINGS),
    String(runs),
  ]);
}

/** What pushing `count` items through a bounded queue showed. */
export interface FloodReport {
  count: number;
  maxsize: number;
  usPerItem: number;
  inOrderExactlyOnce: boolean;
  rssBeforeMb: number;
  rssPeakMb: number;
}

/**
 * Pushes `count` items from a worker through a bounded queue to this
 * process, checking that each arrives once and in order, and sampling the
 * resident memory as it goes (backpressure should keep it flat).
 */
export async function flood(count: number, maxsize: number): Promise<FloodReport> {
  const q = new Queue<number | null>(maxsize);
  const mb = () => Deno.memoryUsage().rss / 2 ** 20;
  const rssBeforeMb = mb();
  let rssPeakMb = rssBeforeMb;
  const producer = new Process({ target: produceMillion, args: [q, count], module });
  await producer.start();
  const t0 = performance.now();
  let expected = 0, inOrder = true;
  for (let item = await q.get(); item !== null; item = await q.get()) {
    if (item !== expected++) inOrder = false;
    if ((expected & 0xffff) === 0) rssPeakMb = Math.max(rssPeakMb, mb());
  }
  const usPerItem = (performance.now() - t0) * 1000 / count;
  await producer.join();
  return {
    count,
    maxsize,
    usPerItem,
    inOrderExactlyOnce: inOrder && expected === count,
    rssBeforeMb,
    rssPeakMb: Math.max(rssPeakMb, mb()),
  };
}
