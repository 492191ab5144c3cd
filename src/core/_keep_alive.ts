/**
 * What keeps the program running. Python ends a program when its main
 * module is done: daemon children (pool workers among them) are terminated,
 * the others joined. Deno ends one when its event loop has nothing left that
 * is referenced, so each host says whether it holds the loop:
 *
 * - a non-daemon child always does (Python joins it at exit);
 * - a daemon child, a pool worker, a supervisor's child or a spare does only
 *   while this isolate awaits something a child may deliver: a `join()`, a
 *   `start()`, a pool's unfinished task, an endless wait on a queue, pipe,
 *   lock or reply (`hold()`).
 *
 * When nothing is awaited and only such children are left, the loop ends:
 * worker isolates end with the program, and subprocesses are sent SIGTERM on
 * `unload` (they would also see their channel close).
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
  #always = true;
  #held: boolean | undefined;

  constructor(refs: Refs) {
    this.#refs = refs;
    live.add(this);
    this.apply();
  }

  /** True: it keeps the program running while it lives; false: only while something is awaited. */
  set always(value: boolean) {
    this.#always = value;
    this.apply();
  }

  get always(): boolean {
    return this.#always;
  }

  /** Refs or unrefs the host to match its rule and the current holds. */
  apply(): void {
    const held = this.#always || holds > 0;
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

// The program ends without the children that did not hold it: a subprocess
// must not live on (a worker isolate ends with the program anyway).
globalThis.addEventListener("unload", () => {
  for (const liveness of live) if (!liveness.always) liveness.end();
});
