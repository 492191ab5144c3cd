/**
 * Process targets for the actor and supervisor tests. They report what they
 * saw through queues and refs, so a test awaits a `get` or an `ask` (with a
 * timeout) instead of sleeping. Every wait here has a timeout too, so a bug
 * fails the test instead of hanging it.
 */

import {
  type ActorRef,
  type Backend,
  type ChildSpec,
  currentProcess,
  type Queue,
  serve,
  Supervisor,
} from "../../mod.ts";
import { CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

/** A counter: `init` logs first, tells add to it, asks "get" read it and "log" read what it saw. */
export function counter() {
  return serve<number | "get" | "log", unknown, { n: number; log: string[] }>({
    init: () => ({ n: 0, log: ["init"] }),
    tell: (by, state) => {
      state.log.push(`tell ${by}`);
      state.n += by as number;
    },
    ask: (msg, state) => {
      state.log.push(`ask ${msg}`);
      return msg === "log" ? [...state.log] : state.n;
    },
  });
}

/**
 * Echoes asks, except: "wait" answers "late" once `gate` has an item, "die"
 * exits with code 3 before answering, and "throw" throws a RangeError.
 */
export function echo(gate?: Queue<unknown>) {
  return serve<unknown, unknown>({
    ask: async (msg) => {
      if (msg === "wait") {
        await gate!.get({ timeout: PATIENCE_MS });
        return "late";
      }
      if (msg === "die") Deno.exit(3);
      if (msg === "throw") throw new RangeError("cannot answer throw");
      return msg;
    },
  });
}

/** Tells the counter behind `ref` 2 and 3, asks it for the sum, and puts the answer into `out`. */
export async function useCounter(ref: ActorRef<number | "get", number>, out: Queue<unknown>): Promise<void> {
  ref.tell(2);
  ref.tell(3);
  const n = await ref.ask("get", { timeout: PATIENCE_MS });
  await out.put({ n, by: currentProcess().name });
}

/** For every `{ replyTo, value }` it is told, tells `replyTo` what it got and who it is. */
export function replier() {
  return serve<{ replyTo: ActorRef<unknown>; value: unknown }, never>({
    tell: (msg) => msg.replyTo.tell({ echoed: msg.value, by: currentProcess().name }),
  });
}

/** A lifecycle event a `member` puts into its log. */
export interface MemberEvent {
  event: "init" | "terminate";
  name: string;
  /** terminate's reason: "normal", "shutdown", or "error: <message>". */
  reason?: string;
}

/**
 * A server that reports its lifecycle to `log` (if given): "init" before
 * the first message, "terminate" with its reason last. Its state is a random
 * incarnation id and the marks it was told; ask "id" or "marks" for them.
 * Told or asked "crash", it throws.
 */
export function member(name: string, log?: Queue<MemberEvent>) {
  return serve<string, unknown, { id: string; marks: string[] }>({
    init: async () => {
      await log?.put({ event: "init", name }, { timeout: PATIENCE_MS });
      return { id: crypto.randomUUID(), marks: [] };
    },
    tell: (msg, state) => {
      if (msg === "crash") throw new Error(`${name} crashed on purpose`);
      state.marks.push(msg);
    },
    ask: (msg, state) => {
      if (msg === "crash") throw new Error(`${name} crashed on purpose`);
      return msg === "marks" ? [...state.marks] : state.id;
    },
    terminate: async (reason) => {
      const shown = reason instanceof Error ? `error: ${reason.message}` : String(reason);
      await log?.put({ event: "terminate", name, reason: shown }, { timeout: PATIENCE_MS });
    },
  });
}

/** Reads one message from its mailbox: "normal" returns (exit code 0), anything else throws (1). */
export async function oneMessage(): Promise<void> {
  const msg = await currentProcess().mailbox.get({ timeout: PATIENCE_MS });
  if (msg !== "normal") throw new Error(`told ${JSON.stringify(msg)}`);
}

/** Crashes as soon as it runs. */
export function crashAtOnce(): never {
  throw new Error("crashes at once");
}

/** Never reads its mailbox and never returns: only a kill ends it. */
export function deaf(): Promise<never> {
  return new Promise(() => setInterval(() => {}, 1000));
}

/** Spins its event loop for good: it answers no heartbeat, and only a kill ends it. */
export function spin(): never {
  let n = 0;
  for (;;) n++;
}

/**
 * Runs a supervisor of its own (intensity 0) over one `member` worker on
 * `backend`, puts the worker's ref into `out`, and fails when that supervisor
 * gives up: the escalation an outer supervisor sees as a crash.
 */
export async function innerSupervisor(out: Queue<unknown>, backend: Backend): Promise<void> {
  const sup = new Supervisor({
    name: "inner",
    intensity: 0,
    children: [{ id: "w", target: member as ChildSpec["target"], args: ["w"], module: MODULE, backend }],
  });
  await sup.start();
  await out.put(sup.ref("w"), { timeout: PATIENCE_MS });
  await sup.done;
}

/**
 * Runs a supervisor of its own (intensity 10) over one `member` worker "w"
 * on `backend`, and puts a fresh ref to "w" into `out` each time "w" starts
 * or restarts: a grandchild's ref, passed in a message after a restart.
 */
export async function refreshingSupervisor(out: Queue<unknown>, backend: Backend): Promise<void> {
  const sup = new Supervisor({
    name: "inner",
    intensity: 10,
    periodMs: 60_000,
    children: [{ id: "w", target: member as ChildSpec["target"], args: ["w"], module: MODULE, backend }],
  });
  const send = () => out.put(sup.ref("w"), { timeout: PATIENCE_MS });
  sup.addEventListener("started", send);
  sup.addEventListener("restarted", send);
  await sup.start();
  await sup.done;
}
