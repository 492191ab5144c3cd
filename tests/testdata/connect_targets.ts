/**
 * Registered types and process targets for the Manager connection tests.
 * The factories run in the manager's process; the targets run in children
 * and report what they saw through a queue, so a test awaits a `get` with a
 * timeout instead of sleeping.
 */

import { type BaseProxy, type DictProxy, Manager, type ManagerAddress, type Queue } from "../../mod.ts";
import { outcome } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

// --- Registered types (their factories run in the manager's process) ---

/**
 * Calls that never answer: `hang()` waits forever; `arrived(n)` answers once
 * `n` calls hang, so a test knows they are in flight without sleeping.
 */
export class Hanger {
  #hanging = 0;
  #watchers: { n: number; resolve: (count: number) => void }[] = [];

  hang(): Promise<never> {
    this.#hanging++;
    for (const watcher of this.#watchers.filter(({ n }) => this.#hanging >= n)) {
      this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
      watcher.resolve(this.#hanging);
    }
    return new Promise<never>(() => {});
  }

  arrived(n: number): Promise<number> | number {
    if (this.#hanging >= n) return this.#hanging;
    return new Promise((resolve) => this.#watchers.push({ n, resolve }));
  }

  ping(): string {
    return "pong";
  }
}

/** Makes a Hanger; registered by the tests. */
export function hanger(): Hanger {
  return new Hanger();
}

// --- Process targets ---

/** Reads `dict.seed`, writes `dict.child`, and reports what it read and its pid. */
export async function useDict(dict: DictProxy<string, unknown>, out: Queue<unknown>): Promise<void> {
  const seed = await dict.get("seed");
  await dict.set("child", `${String(seed)} seen by pid ${Deno.pid}`);
  await out.put({ seed, pid: Deno.pid });
}

/** Calls `hang()` on the proxy and reports how that ended (it never answers on its own). */
export async function callHang(h: BaseProxy, out: Queue<unknown>): Promise<void> {
  await out.put(await outcome(h.call("hang")));
}

/** Connects to the manager at `address` with `authkey`, as another program would, and uses a dict there. */
export async function connectAndUse(
  address: ManagerAddress,
  authkey: string,
  out: Queue<unknown>,
): Promise<void> {
  await out.put(
    await outcome((async () => {
      await using client = await Manager.connect(address, { authkey });
      const d = await client.dict({ from: `pid ${Deno.pid}` });
      return await d.get("from");
    })()),
  );
}
