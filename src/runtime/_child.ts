/**
 * The child side of every process, whatever its backend: it turns a fresh
 * isolate or OS process into the process its `launch` message describes,
 * imports the module that defines the target (Python's spawn), runs it, and
 * ends with exactly one exit. The backend's entry module supplies the
 * transport: `_child_worker.ts` or `_child_subprocess.ts`.
 *
 * Every way out (return, throw, `Deno.exit`, `self.close`) goes through
 * `transport.exit`, because a worker's parent learns nothing otherwise.
 *
 * @module
 */

import { adopt } from "./_adopt.ts";
import { entryEvaluated, readPreamble } from "./_entry.ts";
import { decodeError, encodeError } from "../wire/_error_codec.ts";
import {
  type ChildIdentity,
  type EntrySpec,
  type FromChild,
  type Mailboxes,
  TAG,
  type ToChild,
} from "./_protocol.ts";
import { channelsSettled } from "../memory/_channel.ts";
import { deliverReply, serveRingCall, setCallSender } from "../memory/_remote.ts";
import { currentThreadId, probeReport } from "./_status.ts";
import { report } from "../core/_report.ts";
import { runtime } from "./_runtime.ts";
import { revive, revivedReady } from "../memory/_shared.ts";
import { loadRevivers } from "./_revivers.ts";
import { home, setRingRegistrar } from "../memory/_served.ts";
import { closeInheritedConnections } from "../channels/pipe.ts";
import { Process } from "./process.ts";
import { shutdown } from "./shutdown.ts";

/** How a child talks to the root and ends itself. */
export interface ChildTransport {
  /** Sends a protocol message; throws a DataCloneError synchronously if it cannot be encoded. */
  post(message: FromChild): void;
  /** Resolves once every message posted so far has left the process. */
  flush(): Promise<void>;
  /** Ends this process now with `code`, reporting it if the backend needs that. */
  exit(code: number): never;
  /**
   * Whether this isolate serves its OS process's rings to other processes:
   * a subprocess does; a worker shares the root's OS process, which the root serves.
   */
  readonly servesRings: boolean;
}

let transport: ChildTransport;
let phase: "importing" | "running" | "finishing" | "exited" = "importing";

function post(message: FromChild): void {
  transport.post(message);
}

/** Ends the process; everything after it is cut, as after `os._exit`. */
function exitNow(code: number): never {
  phase = "exited";
  return transport.exit(code);
}

/** Ends the way Python's `_bootstrap` does: children handled, then the exit code. */
async function finish(code: number): Promise<void> {
  if (phase === "finishing" || phase === "exited") return;
  phase = "finishing";
  try {
    // As the OS closes a dying process's pipe ends, so their peers see EOF.
    closeInheritedConnections();
    await channelsSettled();
    await shutdown();
    await transport.flush();
  } finally {
    exitNow(code);
  }
}

/**
 * Ends the process after an uncaught error. Its creator reports it, in the
 * way it chose (a supervisor's or pool's `crashReports`; a full stack by
 * default), or hands it to whoever awaits `start()`; the child prints it
 * itself only when its creator cannot hear of it.
 */
function crash(error: unknown): void {
  if (phase === "finishing" || phase === "exited") return;
  let told = false;
  if (runtime.parentAlive) {
    try {
      post({ [TAG]: "failed", error: encodeError(error) });
      told = true;
    } catch {
      // Its channel is gone: the report below is all there is.
    }
  }
  if (!told) report(`Process ${runtime.self.name}:\n`, error);
  finish(1);
}

async function launch(entry: EntrySpec, args: readonly unknown[], mailboxes: Mailboxes): Promise<void> {
  let process: Process;
  try {
    await loadRevivers([entry, args]);
    runtime.mailbox = revive(mailboxes.own) as object;
    runtime.parentMailbox = revive(mailboxes.parent) as object;
    await entryEvaluated();
    process = await materialize(revive(entry), revive(args));
    await revivedReady();
  } catch (error) {
    crash(error);
    return;
  } finally {
    runtime.bootstrapping = false;
  }
  runtime.current = process;
  phase = "running";
  // A worker says which thread it runs on, so ps() can tell its CPU time even while it is busy.
  post({ [TAG]: "started", tid: transport.servesRings ? null : currentThreadId() });
  try {
    await process.run();
  } catch (error) {
    crash(error);
    return;
  }
  await finish(0);
}

/**
 * Finds the target in its module (already evaluated when the entry module
 * imported it; imported now by a spare) and builds the Process object that
 * runs it.
 */
async function materialize(entry: EntrySpec, args: readonly unknown[]): Promise<Process> {
  if (entry.kind === "none") return adopt(Process, Process, { role: "self", args });
  const namespace: Record<string, unknown> = await import(entry.module);
  const found = findExport(namespace, entry.name, entry.source);
  if (entry.kind === "function") {
    if (!found) throw targetNotFound(entry.name, entry.source, entry.module);
    return adopt(Process, Process, { role: "self", target: found, args });
  }
  if (!found || !(found.prototype instanceof Process)) {
    throw new ReferenceError(
      `Cannot find the Process subclass "${entry.name}" among the exports of ${entry.module}: ` +
        `export it (export class ${entry.name} extends Process {}), or pass { module: import.meta.url } ` +
        "to super() in the module that exports it",
    );
  }
  const process = adopt(Process, found as unknown as typeof Process, { role: "self", args });
  return Object.assign(process, entry.fields);
}

/**
 * Why the child cannot find its target: as a pool says, the target must be a
 * named export of its module. An inline function (`target: (x) => …`) took
 * its name from the option: the message says so rather than name "target".
 */
function targetNotFound(name: string, source: string, module: string): ReferenceError {
  // `function target() {}` is a function named target; `(x) => …` and `function () {}` took the option's name.
  if (name === "target" && !/^(async\s+)?function\b\s*\*?\s*target(?![\w$])/.test(source)) {
    return new ReferenceError(
      `Cannot find the target among the exports of ${module} as it is an inline function (named "target" ` +
        "after the option): a child imports its target's module and finds the target there by its export " +
        "name, so the target must be a named export of its module. Export a named function and pass that " +
        "(export function work() {} … new Process({ target: work }))",
    );
  }
  return new ReferenceError(
    `Cannot find the target "${name}" among the exports of ${module}: a child imports its target's module ` +
      "and finds the target there by its export name, so the target must be a named export of its module. " +
      `Export it (export function ${name}() {}), or, if another module exports it, pass that module's URL ` +
      "as the Process's module option (module: import.meta.url there)",
  );
}

type AnyFunction = ((...args: never[]) => unknown) & { prototype?: unknown };

/** The export that is the parent's function: same name, same source text. */
function findExport(
  namespace: Record<string, unknown>,
  name: string,
  source: string,
): AnyFunction | undefined {
  const candidates = [namespace[name], ...Object.values(namespace)];
  return candidates.find((value): value is AnyFunction =>
    typeof value === "function" && value.name === name && Function.prototype.toString.call(value) === source
  );
}

function become(self: ChildIdentity): void {
  runtime.becomeChild(self, post);
  if (home.serves) home.id = self.id;
  // The target's module is evaluated next (by the entry module, or for a
  // spare by launch): a process started there would start again in every child.
  runtime.bootstrapping = true;
}

/**
 * Makes this isolate a child process talking through `channel`: patches the
 * ways out, catches uncaught errors, and returns the handler for messages
 * from the root.
 */
export function serveChild(channel: ChildTransport): (message: ToChild) => void {
  transport = channel;
  home.serves = channel.servesRings;
  setCallSender((ref, to, call) => post({ [TAG]: "call", ref, home: to, call }));
  // A worker's rings live in the root's OS process, which the root serves.
  if (!channel.servesRings) setRingRegistrar((buffer) => post({ [TAG]: "register", buffer }));
  const { self } = readPreamble();
  // Now, while the entry module still evaluates, so that its last line finds the hook.
  entryEvaluated();
  if (self) become(self);
  else post({ [TAG]: "ready" });
  // A child's Deno.exit(n) ends only the child, with exit code n.
  (Deno as { exit: (code?: number) => never }).exit = (code) =>
    // As Deno truncates a code to an integer (1.5 is 1, NaN is 0), so the root gets 0 to 255.
    exitNow(((Math.trunc(code ?? Deno.exitCode) || 0) % 256 + 256) % 256);
  (globalThis as unknown as { close(): void }).close = () => exitNow(0);
  addEventListener("error", (event) => {
    event.preventDefault();
    crash(event.error ?? event.message);
  });
  addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    crash(event.reason);
  });
  return (message) => {
    switch (message[TAG]) {
      case "launch":
        if (message.self) become(message.self);
        launch(message.entry, message.args, message.mailboxes);
        break;
      case "kid":
        runtime.deliver(message.ref, message.event);
        break;
      case "parent-exited":
        runtime.markParentExited();
        break;
      case "serve": {
        const { from, ref, call } = message;
        serveRingCall(from, ref, call).then((reply) => {
          if (!reply) return;
          try {
            post({ [TAG]: "served", to: from, ref, reply });
          } catch (error) {
            // An answer that cannot cross (memory, to another OS process): the caller gets why.
            post({ [TAG]: "served", to: from, ref, reply: { ok: false, error: encodeError(error) } });
          }
        });
        break;
      }
      case "reply":
        deliverReply(message.ref, message.reply);
        break;
      case "down":
        runtime.down(message.ref, message.code);
        break;
      case "preload":
        // A failure here is reported by the launch that imports it again.
        import(message.module).catch(() => {});
        break;
      case "stop-request":
        runtime.stopRequested.abort();
        break;
      case "heartbeat":
        post({ [TAG]: "alive", n: message.n });
        break;
      case "probe":
        post({ [TAG]: "probed", n: message.n, report: probeReport(runtime.children) });
        break;
      case "ps-rows":
        runtime.psRows(message.ref, message.rows ?? decodeError(message.error!));
        break;
      case "checked":
        runtime.checked(message.ref, message.ok);
        break;
    }
  };
}
