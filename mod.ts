/**
 * troupe brings Python's `multiprocessing` to Deno: processes you start,
 * join and terminate with Python's semantics. A process is an isolate (a
 * Deno worker, the default) or, with `backend: "subprocess"`, an OS process
 * of its own in a permission sandbox; the main isolate hosts them all, and
 * {@linkcode shutdown} ends a program the way Python's exit does. Test code
 * that starts processes with `withLeakCheck` from `@troupe/troupe/testing`.
 *
 * ```ts
 * import { Process, currentProcess } from "@troupe/troupe";
 *
 * export function task(name: string) {
 *   console.log(`${name} is running in ${currentProcess().name}`);
 * }
 *
 * if (import.meta.main) {
 *   const p = new Process({ target: task, args: ["we"] });
 *   await p.start();
 *   await p.join();
 *   console.log(p.exitCode); // 0
 * }
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "./src/core/_deno_only.ts";
export * from "./src/runtime/mod.ts";
export * from "./src/channels/mod.ts";
export * from "./src/sync/mod.ts";
export * from "./src/pool/mod.ts";
export * from "./src/supervision/mod.ts";
export * from "./src/manager/mod.ts";
export * from "./src/runtime/process_info.ts";
