/**
 * The benchmark's manager rows: a proxy call's round trip from a worker
 * child (through the manager's mailbox in shared memory) and from a
 * subprocess child (over the manager's socket), against Python's manager
 * proxies called from a child process.
 */

import { type DictProxy, Manager, Process, Queue } from "../mod.ts";
import { pythonSamples } from "./_python.ts";

const { MODULE: module, timeCalls } = await import("./_manager_targets.ts");

/** Calls per sample. */
export const CALLS = 2000;

/** A child calling a managed dict in rounds; each sample is the next round's µs per call. */
export async function proxyCalls(
  backend: "worker" | "subprocess",
  rounds: number,
): Promise<{ sample: () => Promise<number>; close: () => Promise<void> }> {
  const manager = await new Manager().start();
  const d: DictProxy<string, number> = await manager.dict({ x: 1 });
  const out = new Queue<number>();
  const child = new Process({ target: timeCalls, args: [d, CALLS, rounds, out], module, backend });
  await child.start();
  return {
    sample: () => out.get({ timeout: 120_000 }),
    async close() {
      await child.join();
      await manager.shutdown();
    },
  };
}

/** Python's samples: µs per `d.get()` from a child process, or undefined without python3. */
export function python(rounds: number): Promise<number[] | undefined> {
  return pythonSamples("./_python_manager.py", [String(CALLS), String(rounds)]);
}
