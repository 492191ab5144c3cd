/**
 * The bootstrap of a worker-backend process, in a web Worker or a
 * `node:worker_threads` one (both have the same global messaging; see
 * `_host_worker.ts`). Deno drops messages that reach a worker before it has
 * a listener, and tells the parent nothing when a worker ends, so the
 * listener is installed during this module's synchronous evaluation and the
 * exit code is posted before the isolate ends.
 *
 * The host imports this module too, only to keep it in the program's module
 * graph: there it does nothing (`isBootstrap`).
 *
 * @module
 */

import { serveChild } from "./_child.ts";
import { isBootstrap } from "./_entry.ts";
import { type FromChild, isProtocolMessage, TAG, type ToChild } from "./_protocol.ts";

/** The parts of a worker's global scope used here. */
interface WorkerScope {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

function boot(): void {
  const scope = globalThis as unknown as WorkerScope;

  // A node:worker_threads Worker (what an unsandboxed child runs in) has the
  // web Worker's globals but `self`, which code written for Deno may use.
  if (!("self" in globalThis)) {
    Object.defineProperty(globalThis, "self", { value: globalThis, writable: true, configurable: true });
  }
  const exit = Deno.exit;

  const dispatch = serveChild({
    post(message: FromChild) {
      scope.postMessage(message);
    },
    flush() {
      // postMessage hands the message over synchronously.
      return Promise.resolve();
    },
    exit(code: number): never {
      scope.postMessage({ [TAG]: "exit", code } satisfies FromChild);
      // Deno.exit in a worker ends only the worker.
      return exit(code);
    },
    servesRings: false,
  });

  scope.addEventListener("message", (event) => {
    if (isProtocolMessage<ToChild>(event.data)) dispatch(event.data);
  });
}

if (isBootstrap(import.meta.url)) boot();
