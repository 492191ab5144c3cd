/**
 * Accepting connections that must prove themselves before they are served:
 * the subprocess switchboard and a manager's listener. Anyone on the machine
 * can connect to a loopback port, so what a connection costs before it has
 * proven anything is bounded: it has `handshakeMs` to do so, at most
 * `maxPending` such connections are held at once (the oldest gives way to a
 * new one), and running out of file descriptors neither ends the program nor
 * stops the listening: the oldest unproven connection is closed to make room,
 * or the loop pauses and tries again.
 *
 * @module
 */

/** Limits on connections that have not proven themselves yet. */
export interface GateLimits {
  /** How long a new connection has to prove itself before it is closed. */
  handshakeMs: number;
  /** How many unproven connections are held at once; the oldest is closed to admit one more. */
  maxPending: number;
}

/** The longest pause between two tries when accepting fails for want of descriptors. */
const MAX_PAUSE_MS = 250;
/**
 * Descriptors given back when there are none left: the program needs some
 * of its own (to start a child, or for Deno's internals, which panic when
 * they find none), so unproven connections never take the last ones again.
 */
const DESCRIPTOR_MARGIN = 8;

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** Connections that are proving themselves, oldest first. */
export class Gate {
  readonly #limits: GateLimits;
  #pending = new Map<Deno.Conn, ReturnType<typeof setTimeout>>();
  /** The most unproven connections this process can afford, learnt when descriptors ran out. */
  #affordable = Infinity;

  constructor(limits: GateLimits) {
    this.#limits = limits;
  }

  /** How many connections are proving themselves (for tests). */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Holds `conn` while it proves itself: it is closed when its time is up or
   * when newer connections push it out. Call the function returned once it
   * has proven itself or failed.
   */
  admit(conn: Deno.Conn): () => void {
    while (this.#pending.size >= Math.max(1, Math.min(this.#limits.maxPending, this.#affordable))) {
      this.shed();
    }
    const timer = setTimeout(() => this.#drop(conn), this.#limits.handshakeMs);
    // An unproven connection must not keep the program alive.
    Deno.unrefTimer(timer);
    this.#pending.set(conn, timer);
    return () => this.#forget(conn);
  }

  /**
   * Accepting failed for want of descriptors: from now on at most a few
   * fewer unproven connections than are held now, and those few closed.
   */
  outOfDescriptors(): void {
    // Never below the margin itself: children starting together must not push each other out.
    this.#affordable = Math.max(DESCRIPTOR_MARGIN, this.#pending.size - DESCRIPTOR_MARGIN);
    while (this.#pending.size > this.#affordable && this.shed());
  }

  /** Closes the oldest unproven connection; false if there is none. */
  shed(): boolean {
    const oldest = this.#pending.keys().next();
    if (oldest.done) return false;
    this.#drop(oldest.value);
    return true;
  }

  #drop(conn: Deno.Conn): void {
    this.#forget(conn);
    closeQuietly(conn);
  }

  #forget(conn: Deno.Conn): void {
    clearTimeout(this.#pending.get(conn));
    this.#pending.delete(conn);
    // Once the flood that ran the descriptors out has drained, the limit is the configured one again.
    if (this.#pending.size === 0) this.#affordable = Infinity;
  }
}

/** Whether accepting failed for want of file descriptors (this process's or the system's). */
function outOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    // A listener that is waiting to retry must not keep the program alive either.
    Deno.unrefTimer(timer);
  });
}

/**
 * Hands every connection `listener` accepts to `serve`, until the listener
 * is closed. Any other failure to accept (no descriptor left, a connection
 * reset before it was accepted) costs a pause at most, never the listening.
 */
export async function acceptEach<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  gate: Gate,
  serve: (conn: C) => void,
): Promise<void> {
  let pauseMs = 0;
  while (true) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) return;
      // Out of descriptors: unproven connections are the cheapest to give up.
      // Their descriptors are freed once their pending reads let go, so try
      // again after a pause, longer each time that did not help.
      if (outOfDescriptors(error)) gate.outOfDescriptors();
      pauseMs = Math.min(Math.max(pauseMs * 2, 1), MAX_PAUSE_MS);
      await pause(pauseMs);
      continue;
    }
    pauseMs = 0;
    serve(conn);
  }
}
