/**
 * The base class of troupe's own errors: a misused process, a child that
 * could not start, and the queue, pool and supervisor failures all extend
 * it, so one `instanceof ProcessError` catches them all.
 *
 * @example Catching a misuse
 * ```ts
 * import { Process, ProcessError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const p = new Process();
 * assert.throws(() => p.terminate(), ProcessError);
 * await assert.rejects(p.join(), ProcessError);
 * ```
 */
export class ProcessError extends Error {
  /**
   * Creates a troupe error.
   *
   * @param message What failed and what to do instead.
   * @param options `cause`: the underlying error, such as the child's own.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProcessError";
  }
}

/**
 * A wait that has no result of its own to give ran out of time: a
 * `Connection.recv` with a timeout, for instance. Python's
 * `multiprocessing.TimeoutError`, which is a `ProcessError`, not the
 * built-in `TimeoutError`.
 *
 * @example
 * ```ts
 * import { Pipe, ProcessTimeoutError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = Pipe<string>();
 * await assert.rejects(a.recv({ timeout: 10 }), ProcessTimeoutError);
 * a.close();
 * b.close();
 * ```
 */
export class ProcessTimeoutError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message What timed out, after how long.
   */
  constructor(message: string) {
    super(message);
    this.name = "ProcessTimeoutError";
  }
}

/**
 * A connection failed the authkey handshake: the peer does not know the key
 * (or is not speaking troupe's protocol). Python's
 * `multiprocessing.AuthenticationError`.
 *
 * @example
 * ```ts
 * import { AuthenticationError, Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager({ authkey: "right" }).start();
 * await assert.rejects(Manager.connect(manager.address, { authkey: "wrong" }), AuthenticationError);
 * ```
 */
export class AuthenticationError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message Which side refused, and why.
   */
  constructor(message: string) {
    super(message);
    this.name = "AuthenticationError";
  }
}
