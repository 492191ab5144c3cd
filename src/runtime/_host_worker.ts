/**
 * The worker backend's host: an isolate running the child bootstrap. A child
 * without a sandbox runs in a `node:worker_threads` Worker, which Deno lets
 * the parent unref (no child keeps the program running while the main module
 * works, so that Python's exit rule can run when it is done, see
 * `_keep_alive.ts`) and whose exit it reports. A sandboxed child runs in a
 * web `Worker`, the only kind on which Deno enforces `deno: { permissions }`
 * (a node Worker accepts the option and ignores it); Deno cannot unref one,
 * so it keeps the program running until it ends, daemon or not. A web Worker
 * starts in about half the time (on Deno 2.9.6, spawn to first message: 12
 * to 22 ms against 25 to 41 ms), a cost paid for the exit rule. The exit
 * code comes from the bootstrap's own report, from `stop()`, or, as a
 * backstop, from an error the bootstrap failed to catch (or a node Worker's
 * exit event).
 *
 * @module
 */

import { entryUrl } from "./_entry.ts";
import { encodeError } from "../wire/_error_codec.ts";
import type { Host, HostOptions } from "./_host.ts";
import { Liveness } from "../core/_keep_alive.ts";
import { type FromChild, isProtocolMessage, type StopHow, TAG, type ToChild } from "./_protocol.ts";
import { describeError, receiveFromChild, refuseChild } from "./_validate.ts";
import { Worker as NodeWorker } from "node:worker_threads";

const BOOTSTRAP_URL = new URL("./_child_worker.ts", import.meta.url);

/** Exit codes Python reports for SIGTERM and SIGKILL, which a worker has no other way to get. */
const STOP_CODES: Record<Exclude<StopHow, "request">, number> = { terminate: -15, kill: -9 };

/** What the host needs of either kind of worker. */
interface Isolate {
  post(message: ToChild): void;
  terminate(): void;
}

/** A process hosted in an isolate of this OS process. */
export class WorkerHost implements Host {
  readonly pid: number = Deno.pid;
  readonly exited: Promise<number>;
  #isolate: Isolate;
  #liveness: Liveness;
  #ended = false;
  #resolveExit: (code: number) => void;

  constructor(name: string, onMessage: (message: FromChild) => void, options: HostOptions) {
    const { promise, resolve } = Promise.withResolvers<number>();
    const { preamble, module, permissions } = options;
    this.exited = promise;
    this.#resolveExit = resolve;
    const entry = entryUrl(BOOTSTRAP_URL, preamble, module);
    const deliver = (message: FromChild) =>
      message[TAG] === "exit" ? this.#end(message.code) : onMessage(message);
    const receive = (message: unknown) => {
      if (!isProtocolMessage<FromChild>(message)) return;
      // Untrusted: checked, and the worker is killed if it breaks the protocol.
      receiveFromChild(this, name, "worker", message, deliver);
    };
    // A message this isolate cannot copy in (nested too deep, say); Deno reads nothing more from the worker.
    const unreadable = (data: unknown) =>
      refuseChild(this, name, `Cannot read a message it posted (${describeError(data)})`);
    // The bootstrap catches its own errors; reaching here means it could not
    // (a module of the entry failed to load), so the child is reported as
    // failed and crashed. Deno has printed the error already.
    const failed = (message: string) => {
      onMessage({ [TAG]: "failed", error: encodeError(loadError(message)), shown: true });
      this.#end(1);
    };
    if (permissions) {
      if (typeof Worker !== "function") {
        throw new TypeError(
          `Cannot start ${name} as this runtime has no Worker (Deno Deploy has none): ` +
            'use backend: "subprocess" where Deno can run commands',
        );
      }
      const worker = new Worker(entry, {
        type: "module",
        name,
        // Every key is given: a key left out is denied, not inherited.
        ...(permissions
          ? { deno: { permissions: structuredClone(permissions) as Deno.PermissionOptionsObject } }
          : {}),
      });
      // Set in the same tick as the constructor: a message that arrives
      // before a listener exists is dropped.
      worker.onmessage = (event: MessageEvent) => receive(event.data);
      worker.onmessageerror = (event: MessageEvent) => unreadable(event.data);
      // Without preventDefault an error in a worker kills the whole program.
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        failed(event.message);
      };
      this.#isolate = { post: (message) => worker.postMessage(message), terminate: () => worker.terminate() };
      // A web Worker has no unref(): it keeps the program running while it lives.
      this.#liveness = new Liveness({ ref() {}, unref() {} });
    } else {
      const worker = new NodeWorker(new URL(entry), { name });
      worker.on("message", receive);
      worker.on("messageerror", unreadable);
      worker.on("error", (error: unknown) => failed(error instanceof Error ? error.message : String(error)));
      // Its own report came first, unless it could not make one.
      worker.on("exit", (code: number) => this.#end(code));
      this.#isolate = {
        post: (message) => {
          try {
            worker.postMessage(message);
          } catch (error) {
            // A node Worker throws a plain error where a web Worker throws a DataCloneError.
            if (error instanceof DOMException || !/could not be cloned/.test(String(error))) throw error;
            throw new DOMException((error as Error).message, "DataCloneError");
          }
        },
        terminate: () => void worker.terminate().catch(() => {}),
      };
      this.#liveness = new Liveness({ ref: () => worker.ref(), unref: () => worker.unref() });
    }
  }

  send(message: ToChild): void {
    if (!this.#ended) this.#isolate.post(message);
  }

  stop(how: StopHow): void {
    if (how === "request") this.send({ [TAG]: "stop-request" });
    else this.#end(STOP_CODES[how]);
  }

  keepAlive(joined: boolean): void {
    this.#liveness.joined = joined;
  }

  #end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#liveness.dispose();
    // Also after a reported exit: a worker handle keeps the program alive.
    this.#isolate.terminate();
    this.#resolveExit(code);
  }
}

/** A module's load error as the worker's error event tells it ("SyntaxError: …"), with no frames of ours. */
function loadError(message: string): Error {
  const named = /^(\w*Error): ([^]*)$/.exec(message);
  const error = named ? new Error(named[2]) : new Error(message);
  if (named) error.name = named[1]!;
  error.stack = message;
  return error;
}
