/**
 * Children that attack their parent through their own channel to the root:
 * they send what the protocol does not allow, as a broken or malicious
 * child could. Used by `hostile_messages_script.ts`.
 */

import { encodeFrame } from "../../src/_frame.ts";

export const MODULE: string = import.meta.url;

/** A subprocess child's own channel to the root, as its bootstrap exposes it for tests; absent in a worker. */
function channel(): { conn: Deno.Conn; flush: () => Promise<void> } | undefined {
  return (globalThis as Record<symbol, unknown>)[Symbol.for("troupe.channel")] as ReturnType<typeof channel>;
}

/** An object nested `levels` deep. */
export function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/**
 * What a child cannot send through its bootstrap: "deep" is a message too
 * deep for the root to read (a worker's structured clone; a subprocess's
 * frame, written by hand as the codec would refuse to encode it).
 */
function special(name: string): Uint8Array | unknown {
  if (name !== "deep") throw new Error(`No special message ${name}`);
  if (!channel()) return { $troupe: "started", tid: nested(3000) };
  const levels = 5_000;
  const json = new TextEncoder().encode(`${'["A",'.repeat(levels)}1${"]".repeat(levels)}`);
  const frame = new Uint8Array(12 + json.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 0x50555254, true);
  view.setUint32(4, 4 + json.byteLength, true);
  view.setUint32(8, json.byteLength, true);
  frame.set(json, 12);
  return frame;
}

/**
 * Sends each of `messages` on this child's own channel, raw, twice over
 * (the parent must report the child once), then waits to be killed. A
 * string names a message made here (`special`).
 */
export async function sendRaw(messages: readonly unknown[]): Promise<void> {
  const made = messages.map((message) => typeof message === "string" ? special(message) : message);
  const link = channel();
  if (link) await link.flush();
  for (let round = 0; round < 2; round++) {
    for (const message of made) {
      if (!link) (self as unknown as { postMessage(message: unknown): void }).postMessage(message);
      else await link.conn.write(message instanceof Uint8Array ? message : encodeFrame(message));
    }
  }
  await new Promise(() => setInterval(() => {}, 1000));
}

/** Waits to be stopped. */
export function forever(): Promise<void> {
  return new Promise(() => setInterval(() => {}, 1000));
}

/** Puts `value` on `queue` and exits: a sibling that still works. */
export async function putOne(queue: { put(value: unknown): Promise<void> }, value: unknown): Promise<void> {
  await queue.put(value);
}
