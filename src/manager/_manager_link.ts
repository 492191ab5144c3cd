/**
 * How a proxy reaches its manager. In the manager's own OS process, through
 * its mailbox in shared memory (an `ask`); from any other OS process, over
 * a direct connection to the manager's socket, authenticated with its key,
 * one per process and manager, as Python's proxies connect. A process that
 * may not connect (a sandbox without `net`) falls back to the mailbox,
 * relayed by its parents' processes.
 *
 * @module
 */

import { authenticateServer, fromHex } from "../wire/_auth.ts";
import { findUncloneable } from "../wire/_clone_path.ts";
import { encodeFrame, FrameWriter, readFrames } from "../wire/_frame.ts";
import type { ManagerAddress, ManagerPlace, ManagerRequest } from "../runtime/_protocol.ts";
import { revive } from "../memory/_shared.ts";
import { home } from "../memory/_served.ts";
import { ActorExitedError, type ActorRef } from "../runtime/actor.ts";
import { startTimer, stopTimer, type Timer } from "../core/_duration.ts";
import { ProcessTimeoutError } from "../core/errors.ts";

/** How long a call waits, and what stops it. */
export interface Patience {
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

type Reply = { readonly n: number; readonly ok: true; readonly value: unknown } | {
  readonly n: number;
  readonly ok: false;
  readonly error: unknown;
};

/**
 * What to throw for a value that could not be encoded for the manager's
 * socket: a TypeError naming the part that cannot cross, as a queue's is.
 */
export function uncopyable(error: unknown, value: unknown, path: string): unknown {
  if (!(error instanceof DOMException && error.name === "DataCloneError")) return error;
  const where = findUncloneable(value, path, true);
  return new TypeError(
    `Cannot send ${where ?? `the ${path} (${error.message})`}: what goes to a manager and back is copied, ` +
      "so send data (no functions, symbols, promises, weak collections or shared memory)",
    { cause: error },
  );
}

/** A name for an address, for messages and the connection cache. */
export function showAddress(address: ManagerAddress): string {
  return typeof address === "string" ? address : `${address.hostname}:${address.port}`;
}

/** An authenticated connection to a manager, carrying calls and their answers. */
export class ManagerLink {
  readonly #conn: Deno.Conn;
  readonly #writer: FrameWriter;
  readonly #where: string;
  readonly #waiting = new Map<number, (reply: Reply) => void>();
  #next = 1;
  #closed: Error | undefined;
  readonly done: Promise<void>;

  private constructor(conn: Deno.Conn, where: string) {
    this.#conn = conn;
    this.#writer = new FrameWriter(conn);
    this.#where = where;
    // An idle connection must not keep the program running.
    conn.unref();
    this.done = this.#read();
  }

  /** Connects to the manager at `address` and proves this side knows `authkey` (hex); rejects otherwise. */
  static async open(address: ManagerAddress, authkey: Uint8Array): Promise<ManagerLink> {
    const conn = typeof address === "string"
      ? await Deno.connect({ transport: "unix", path: address })
      : await Deno.connect({ hostname: address.hostname, port: address.port });
    if (typeof address !== "string") (conn as Deno.TcpConn).setNoDelay(true);
    try {
      await authenticateServer(conn, authkey);
    } catch (error) {
      conn.close();
      throw error;
    }
    return new ManagerLink(conn, showAddress(address));
  }

  /** Sends `request` and resolves with the answer; rejects with the manager's error, on timeout, or when it is gone. */
  call(request: ManagerRequest, patience: Patience = {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const { timeout = Infinity, signal } = patience;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const n = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    let timer: Timer | undefined = undefined;
    const onAbort = () => settle({ n, ok: false, error: signal!.reason });
    const settle = (reply: Reply) => {
      if (!this.#waiting.delete(n)) return;
      stopTimer(timer);
      signal?.removeEventListener("abort", onAbort);
      if (this.#waiting.size === 0) this.#conn.unref();
      if (reply.ok) resolve(reply.value);
      else reject(reply.error);
    };
    this.#waiting.set(n, settle);
    this.#conn.ref();
    timer = startTimer(() => {
      settle({
        n,
        ok: false,
        error: new ProcessTimeoutError(`The manager did not answer within ${timeout} ms`),
      });
    }, timeout);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      this.#writer.write(encodeFrame({ n, request }));
    } catch (error) {
      const args = request.op === "where" ? [] : request.args;
      settle({ n, ok: false, error: uncopyable(error, args, "args") });
    }
    return promise;
  }

  /** Closes the connection; calls waiting on it reject. */
  close(): void {
    try {
      // The read that the close ends must keep the program running until it has.
      this.#conn.ref();
      this.#conn.close();
    } catch {
      // Closed already.
    }
  }

  async #read(): Promise<void> {
    try {
      await readFrames(this.#conn, (message) => {
        const reply = revive(message) as Reply;
        this.#waiting.get(reply.n)?.(reply);
      });
    } catch {
      // A reset or garbage: the same as a close.
    } finally {
      this.#closed = new ActorExitedError(
        `Cannot reach the manager at ${this.#where} as its connection closed: it has shut down or died`,
      );
      for (const settle of [...this.#waiting.values()]) settle({ n: 0, ok: false, error: this.#closed });
      this.close();
    }
  }
}

/** This process's connections, by manager address and key. */
const links = new Map<string, Promise<ManagerLink>>();

function linkTo(place: ManagerPlace & { readonly address: ManagerAddress }): Promise<ManagerLink> {
  const key = `${showAddress(place.address)}#${place.authkey}`;
  let link = links.get(key);
  if (!link) {
    link = ManagerLink.open(place.address, fromHex(place.authkey));
    links.set(key, link);
    const forget = () => links.delete(key);
    link.then((open) => open.done.then(forget), forget);
  }
  return link;
}

/** Closes this process's connection to the manager at `address`, once it has (a manager shutting down). */
export async function closeLink(place: ManagerPlace): Promise<void> {
  if (place.address === null) return;
  const link = links.get(`${showAddress(place.address)}#${place.authkey}`);
  const open = await link?.catch(() => undefined);
  open?.close();
  await open?.done;
}

/** Sends `request` to the manager at `place`, the quickest way this process can reach it. */
export async function sendToManager(
  place: ManagerPlace,
  request: ManagerRequest,
  patience: Patience = {},
): Promise<unknown> {
  const server = place.server as ActorRef<ManagerRequest, unknown> | null;
  const { address } = place;
  const asking = {
    timeout: patience.timeout ?? Infinity,
    ...(patience.signal ? { signal: patience.signal } : {}),
  };
  // Its own OS process, or a manager that does not listen: through its mailbox.
  if (server && (place.home === home.id || address === null)) return server.ask(request, asking);
  let link: ManagerLink;
  try {
    link = await linkTo({ ...place, address: address! });
  } catch (error) {
    // No way to connect (a sandbox without net): the mailbox still reaches it.
    if (server && !(error instanceof Error && error.name === "AuthenticationError")) {
      return server.ask(request, asking);
    }
    if (error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.NotFound) {
      const where = showAddress(address!);
      throw new ActorExitedError(
        `Cannot reach the manager at ${where} as nothing listens there: it has shut down`,
      );
    }
    throw error;
  }
  return link.call(request, patience);
}

/** Revives a place's ref (it crossed as a descriptor). */
export function revivePlace(place: ManagerPlace): ManagerPlace {
  return { ...place, server: place.server === null ? null : revive(place.server) };
}
