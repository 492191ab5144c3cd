/**
 * The worker backend's host: an isolate (a Deno `Worker`) running the child
 * bootstrap. Deno tells the parent nothing when a worker ends (no exit event,
 * no exit code), so the exit code comes from the bootstrap's own report, from
 * `stop()`, or, as a backstop, from an error event the bootstrap failed to
 * catch.
 *
 * @module
 */

import { entryUrl } from "./_entry.ts";
import { encodeError } from "./_error_codec.ts";
import type { Host } from "./_host.ts";
import type { ResolvedPermissions } from "./_permissions.ts";
import {
  type FromChild,
  isProtocolMessage,
  type Preamble,
  type StopHow,
  TAG,
  type ToChild,
} from "./_protocol.ts";
import { describeError, receiveFromChild, refuseChild } from "./_validate.ts";

const BOOTSTRAP_URL = new URL("./_child_worker.ts", import.meta.url);

/** Exit codes Python reports for SIGTERM and SIGKILL, which a worker has no other way to get. */
const STOP_CODES: Record<Exclude<StopHow, "request">, number> = { terminate: -15, kill: -9 };

/** How to start a worker. */
export interface WorkerOptions {
  readonly preamble: Preamble;
  /** The module of the target, imported by the entry module; null for none. */
  readonly module: string | null;
  /** A sandbox, which needs Deno's worker-options feature; null inherits the parent's permissions. */
  readonly permissions: ResolvedPermissions | null;
}

/** A process hosted in an isolate of this OS process. */
export class WorkerHost implements Host {
  readonly pid: number = Deno.pid;
  readonly exited: Promise<number>;
  #worker: Worker;
  #ended = false;
  #resolveExit: (code: number) => void;

  constructor(name: string, onMessage: (message: FromChild) => void, options: WorkerOptions) {
    const { promise, resolve } = Promise.withResolvers<number>();
    const { preamble, module, permissions } = options;
    this.exited = promise;
    this.#resolveExit = resolve;
    this.#worker = new Worker(entryUrl(BOOTSTRAP_URL, preamble, module), {
      type: "module",
      name,
      // Every key is given: a key left out is denied, not inherited.
      ...(permissions
        ? { deno: { permissions: structuredClone(permissions) as Deno.PermissionOptionsObject } }
        : {}),
    });
    // Set in the same tick as the constructor: a message that arrives before
    // a listener exists is dropped.
    const deliver = (message: FromChild) =>
      message[TAG] === "exit" ? this.#end(message.code) : onMessage(message);
    this.#worker.onmessage = (event: MessageEvent) => {
      const message = event.data;
      if (!isProtocolMessage<FromChild>(message)) return;
      // Untrusted: checked, and the worker is killed if it breaks the protocol.
      receiveFromChild(this, name, "worker", message, deliver);
    };
    // A message this isolate cannot copy in (nested too deep, say); Deno reads nothing more from the worker.
    this.#worker.onmessageerror = (event: MessageEvent) => {
      refuseChild(this, name, `Cannot read a message it posted (${describeError(event.data)})`);
    };
    // Without preventDefault an error in a worker kills the whole program.
    // The bootstrap catches its own errors; reaching here means it could not
    // (a module of the entry failed to load), so the child is reported as
    // failed and crashed.
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      console.error(`Process ${name}:\n${event.message}`);
      onMessage({ [TAG]: "failed", error: encodeError(new Error(event.message)) });
      this.#end(1);
    };
  }

  send(message: ToChild): void {
    if (!this.#ended) this.#worker.postMessage(message);
  }

  stop(how: StopHow): void {
    if (how === "request") this.send({ [TAG]: "stop-request" });
    else this.#end(STOP_CODES[how]);
  }

  keepAlive(_held: boolean): void {
    // A Worker has no unref(): it always keeps the program running.
  }

  #end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    // Also after a reported exit: a worker handle keeps the program alive.
    this.#worker.terminate();
    this.#resolveExit(code);
  }
}
