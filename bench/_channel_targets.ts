/** Long-lived children for the benchmark's queue and pipe rows: each waits for a count, then works. */

import { type Connection, type Queue, serve } from "../mod.ts";

/** A small item, as a queue row moves it. */
export const item = (i: number) => ({ id: i, name: "item" });

/** Puts `n` items for every `n` it is told, until told null. */
export async function produce(q: Queue<unknown>, control: Queue<number | null>): Promise<void> {
  for (let n = await control.get(); n !== null; n = await control.get()) {
    for (let i = 0; i < n; i++) await q.put(item(i));
  }
}

/** Gets `n` items for every `n` it is told and then reports, until told null. */
export async function consume(
  q: Queue<unknown>,
  control: Queue<number | null>,
  done: Queue<number>,
): Promise<void> {
  for (let n = await control.get(); n !== null; n = await control.get()) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += ((await q.get()) as { id: number }).id;
    await done.put(sum);
  }
}

/** Sends back whatever it receives, until the other end closes. */
export async function echo(connection: Connection<unknown, unknown>): Promise<void> {
  for (;;) {
    let message: unknown;
    try {
      message = await connection.recv();
    } catch {
      return; // EOF: the benchmark is done with us
    }
    connection.send(message);
  }
}

/** Puts 0…n-1 into a bounded queue, then null. */
export async function produceMillion(q: Queue<number | null>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await q.put(i);
  await q.put(null);
}

/** An actor that answers every ask with the message itself, and crashes when told "crash". */
export async function echoServer(): Promise<void> {
  await serve<unknown, unknown>({
    ask: (message) => message,
    tell: (message) => {
      if (message === "crash") throw new Error("crashing on purpose");
    },
  });
}
