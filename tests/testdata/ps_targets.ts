/**
 * Process targets for the ps() tests. Each holds still where the test needs
 * it (waiting on a queue the test controls, or spinning until a flag flips),
 * and tells the test where it is through a queue, a shared cell or a file,
 * so the test awaits instead of sleeping. Every wait here has a timeout too,
 * so a bug fails the test instead of hanging it.
 */

import {
  type Backend,
  currentProcess,
  Process,
  type ProcessStatus,
  ps,
  Queue,
  type RawArray,
} from "../../mod.ts";
import { CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

/** Idles until `gate` gives it an item, then returns; anything else it is given, it only holds. */
export async function waitFor(gate: Queue<unknown>, ..._held: unknown[]): Promise<void> {
  await gate.get({ timeout: PATIENCE_MS });
}

/**
 * Obeys `gate`: "read" takes one message from its mailbox and puts it into
 * `out`; "stop" returns. It reads its mailbox only when told to.
 */
export async function readOnCommand(gate: Queue<string>, out: Queue<unknown>): Promise<void> {
  for (;;) {
    const command = await gate.get({ timeout: PATIENCE_MS });
    if (command === "stop") return;
    const message = await currentProcess().mailbox.get({ timeout: PATIENCE_MS });
    await out.put(message, { timeout: PATIENCE_MS });
  }
}

/**
 * Cell 1 of `flags` is set to 1 (and notified) when it starts spinning; it
 * spins, holding its event loop, until cell 0 is not 0; then it idles until
 * `gate` gives it an item.
 */
export async function spinUntilFlag(flags: RawArray<"i">, gate: Queue<unknown>): Promise<void> {
  const cells = flags.getObj();
  Atomics.store(cells, 1, 1);
  Atomics.notify(cells, 1);
  while (Atomics.load(cells, 0) === 0) {
    // Busy: no await, so no message is served.
  }
  await gate.get({ timeout: PATIENCE_MS });
}

/**
 * For a subprocess, which shares no memory: writes `ready`, then spins,
 * holding its event loop, until the file `stop` exists.
 */
export function spinUntilFile(ready: string, stop: string): void {
  Deno.writeTextFileSync(ready, "spinning");
  const deadline = performance.now() + PATIENCE_MS;
  for (;;) {
    try {
      Deno.statSync(stop);
      return;
    } catch {
      if (performance.now() > deadline) throw new Error(`Cannot see ${stop} within ${PATIENCE_MS} ms`);
    }
  }
}

/** What `psFromChild` saw. */
export interface ChildView {
  self: string;
  kid: string;
  kidPid: number | null;
  rows: ProcessStatus[];
}

/**
 * Starts a child of its own on `kidBackend` (waiting on a queue), calls ps(),
 * puts what it saw into `out`, and ends its child once `gate` gives it an item.
 */
export async function psFromChild(
  out: Queue<ChildView>,
  gate: Queue<unknown>,
  kidBackend: Backend,
): Promise<void> {
  const kidGate = new Queue<unknown>();
  const kid = new Process({ target: waitFor, args: [kidGate], module: MODULE, backend: kidBackend });
  await kid.start();
  try {
    const rows = await ps({ timeoutMs: PATIENCE_MS });
    await out.put({ self: currentProcess().name, kid: kid.name, kidPid: kid.pid, rows }, {
      timeout: PATIENCE_MS,
    });
    await gate.get({ timeout: PATIENCE_MS });
  } finally {
    await kidGate.put("go");
    await kid.join(PATIENCE_MS);
  }
  if (kid.exitCode !== 0) throw new Error(`${kid.name} exited with ${kid.exitCode}`);
}

/**
 * Starts a child of its own on `kidBackend` (waiting on a queue) and puts one
 * message into its mailbox, then spins like `spinUntilFlag` (cell 1 set once
 * it spins, until cell 0 is not 0). Then, once `gate` gives it an item, it
 * ends its child. `out` gets the child's name before the spin.
 */
export async function spinWithKid(
  flags: RawArray<"i">,
  gate: Queue<unknown>,
  out: Queue<string>,
  kidBackend: Backend,
): Promise<void> {
  const kidGate = new Queue<unknown>();
  const kid = new Process({ target: waitFor, args: [kidGate], module: MODULE, backend: kidBackend });
  await kid.start();
  try {
    await kid.mailbox.put("unread", { timeout: PATIENCE_MS });
    await out.put(kid.name, { timeout: PATIENCE_MS });
    const cells = flags.getObj();
    Atomics.store(cells, 1, 1);
    Atomics.notify(cells, 1);
    while (Atomics.load(cells, 0) === 0) {
      // Busy: no await, so no message is served.
    }
    await gate.get({ timeout: PATIENCE_MS });
  } finally {
    await kidGate.put("go");
    await kid.join(PATIENCE_MS);
  }
  if (kid.exitCode !== 0) throw new Error(`${kid.name} exited with ${kid.exitCode}`);
}
