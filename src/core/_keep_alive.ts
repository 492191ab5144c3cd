/**
 * What keeps the program running. Python ends a program when its main
 * module is done: daemon children are terminated, then the others joined.
 * Deno ends one when its event loop has nothing left that is referenced, so
 * every child's host is unreferenced while the main module works, and held
 * only while this isolate awaits something a child may deliver: a `join()`,
 * a `start()`, a pool's unfinished task, an endless wait on a queue, pipe,
 * lock or reply (`hold()`).
 *
 * When nothing else is left, Deno fires `beforeunload`: the main module's
 * work is done. The root's exit handler (`shutdown.ts`) then terminates the
 * daemon children and calls {@linkcode joinAtExit}, after which every child
 * Python would join (a non-daemon, `joined`; a stopped subprocess until the
 * OS reports it gone) holds the program until it ends, and cancels the
 * event (Deno ends the program after it otherwise, whatever is referenced);
 * `beforeunload` fires again once they have ended. The others (a pool
 * worker, a supervisor's child, a spare) end with the program: worker
 * isolates with it, subprocesses are sent SIGTERM on `unload`, which also
 * ends every child left after `Deno.exit()` (they would also see their
 * channel close).
 *
 * A web Worker (a sandboxed child's host) cannot be unreferenced: it holds
 * the program while it runs, whatever its rule.
 *
 * @module
 */

/** What a host gives to be held or let go. */
export interface Refs {
  ref(): void;
  unref(): void;
  /** Ends the process when the program ends without it (a subprocess outlives its parent otherwise). */
  end?(): void;
}

/** One host's part in keeping the program running. */
export class Liveness {
  readonly #refs: Refs;
  #joined = true;
  #held: boolean | undefined;

  constructor(refs: Refs) {
    this.#refs = refs;
    live.add(this);
    this.apply();
  }

  /**
   * True (the default): Python joins it at exit, so once the main module is
   * done it keeps the program running until it ends; false: it ends with the
   * program. Either way it keeps it running while something is awaited.
   */
  set joined(value: boolean) {
    this.#joined = value;
    this.apply();
  }

  get joined(): boolean {
    return this.#joined;
  }

  /** Refs or unrefs the host to match its rule and the current holds. */
  apply(): void {
    const held = holds > 0 || (this.#joined && exiting);
    if (held === this.#held) return;
    this.#held = held;
    if (held) this.#refs.ref();
    else this.#refs.unref();
  }

  /** The host's process ended. */
  dispose(): void {
    live.delete(this);
  }

  /** Ends the process, if the host can (the program is ending without it). */
  end(): void {
    this.#refs.end?.();
  }
}

const live = new Set<Liveness>();
let holds = 0;
let exiting = false;

/**
 * Keeps every child's host referenced until the returned function is called
 * (once; later calls do nothing): something in this isolate awaits what a
 * child may deliver. Without children alive, it keeps nothing running: a
 * wait that nothing could end still lets the program end.
 */
export function hold(): () => void {
  if (holds++ === 0) { for (const liveness of live) liveness.apply(); }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holds === 0) { for (const liveness of live) liveness.apply(); }
  };
}

/** Holds while `promise` is pending; returns it. */
export function holdWhile<T>(promise: Promise<T>): Promise<T> {
  const release = hold();
  promise.then(release, release);
  return promise;
}

/**
 * The main module is done (called from the root's `beforeunload`): from now
 * on every `joined` host keeps the program running until its process ends.
 * Returns whether any does: the caller must then cancel `beforeunload`.
 */
export function joinAtExit(): boolean {
  exiting = true;
  let joining = false;
  for (const liveness of live) {
    liveness.apply();
    if (liveness.joined) joining = true;
  }
  return joining;
}

// The program ends without the children that did not hold it (or at once,
// by Deno.exit()): a subprocess must not live on (a worker isolate ends with
// the program anyway).
globalThis.addEventListener("unload", () => {
  for (const liveness of live) liveness.end();
});
