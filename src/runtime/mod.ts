/**
 * Processes: start, join and terminate them with Python's semantics, as
 * isolates (the default) or OS processes; each one is an actor with a
 * mailbox. `shutdown()` ends a program the way Python's exit does.
 *
 * ```ts
 * import { Process } from "@troupe/troupe/process";
 *
 * const p = new Process();
 * await p.start();
 * await p.join();
 * console.log(p.exitCode); // 0
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
// Keeps the child bootstraps in the module graph (see _bootstraps.ts).
import "./_bootstraps.ts";

export {
  ActorExitedError,
  ActorRef,
  type AskOptions,
  type Behaviour,
  serve,
  type ServeOptions,
} from "./actor.ts";
export { ProcessError, ProcessTimeoutError } from "../core/errors.ts";
export {
  activeChildren,
  type Backend,
  cpuCount,
  type Crash,
  type CrashReports,
  currentProcess,
  parentProcess,
  Process,
  type ProcessOptions,
  type ProcessPermissions,
} from "./process.ts";
export { shutdown, type ShutdownOptions } from "./shutdown.ts";
