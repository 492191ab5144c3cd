/**
 * Rings served to other OS processes. A ring lives in one OS process, its
 * home; a process elsewhere reaches it by id, through the root, and the
 * home's main isolate answers (`_remote.ts`). This module keeps the rings
 * this isolate serves, and turns ring references into ids as they are
 * encoded as bytes.
 *
 * @module
 */

import { setObjectExporter } from "../wire/_codec.ts";
import { Ring } from "./_ring.ts";
import { describeForBytes, RING_KEY, type RingRef } from "./_shared.ts";

/** This OS process's home number and whether this isolate serves it; set by the runtime. */
export const home: { id: number; serves: boolean } = { id: 0, serves: true };

/** Rings this isolate serves to other OS processes, by id. */
const served = new Map<string, Ring>();
/** Calls that arrived for a ring before it was registered here, by id. */
const awaited = new Map<string, Array<(ring: Ring | undefined) => void>>();

/**
 * Rings this isolate stopped serving, the latest few thousand: a ref to one
 * is not waited for as a registration to come (`pendingRing`).
 */
const unserved = new Set<string>();
const UNSERVED_KEPT = 4096;

/** Serves `ring` from this isolate from now on (a worker's ring, registered with the root). */
export function serveRing(ring: Ring): void {
  if (served.has(ring.id)) return;
  served.set(ring.id, ring);
  unserved.delete(ring.id);
  for (const resolve of awaited.get(ring.id) ?? []) resolve(ring);
  awaited.delete(ring.id);
}

/**
 * Stops serving the rings of a descriptor (a mailbox whose reader has
 * exited), so they can be freed. Rings served to other OS processes are
 * otherwise kept for the program's life: this isolate cannot tell when the
 * last remote holder is gone.
 */
export function unserve(descriptor: unknown): void {
  const ring = (descriptor as { ring?: RingRef } | null)?.ring;
  if (!ring || !served.delete(ring[RING_KEY])) return;
  unserved.add(ring[RING_KEY]);
  if (unserved.size > UNSERVED_KEPT) unserved.delete(unserved.values().next().value!);
}

/**
 * The ring a served id stands for. A worker registers a ring with the root
 * when it first sends it away, and a call naming it may overtake that
 * registration (they come from different processes), so a call waits for it
 * a little before giving up.
 */
export function servedRing(id: string, patienceMs = 1_000): Ring | undefined | Promise<Ring | undefined> {
  const ring = served.get(id);
  if (ring || patienceMs <= 0) return ring;
  return new Promise((resolve) => {
    const waiting = awaited.get(id) ?? [];
    awaited.set(id, waiting);
    const timer = setTimeout(() => {
      waiting.splice(waiting.indexOf(done), 1);
      resolve(undefined);
    }, patienceMs);
    const done = (found: Ring | undefined) => {
      clearTimeout(timer);
      resolve(found);
    };
    waiting.push(done);
  });
}

/** A reference to `ring`, which lives in this OS process. */
export function ringRef(ring: Ring): RingRef {
  return { [RING_KEY]: ring.id, home: home.id, buffer: ring.buffer };
}

/** How a worker hands a ring to the root to serve; set by the child runtime. */
let registrar: ((buffer: SharedArrayBuffer) => void) | undefined;
const registered = new Set<string>();

/** Gives a worker its way to register rings with the root. */
export function setRingRegistrar(register: (buffer: SharedArrayBuffer) => void): void {
  registrar = register;
}

/**
 * What a ring reference becomes when it is encoded as bytes (for another OS
 * process, or inside a queue item): its id and home. The ring is served from
 * then on: by this isolate if it serves its OS process, else by the root,
 * which a worker tells once per ring.
 */
export function exportRingRef(ref: RingRef): RingRef {
  if (!ref.buffer) return ref;
  const id = ref[RING_KEY];
  if (home.serves) serveRing(new Ring(ref.buffer));
  else if (!registered.has(id)) {
    registered.add(id);
    registrar?.(ref.buffer);
  }
  return { [RING_KEY]: id, home: ref.home };
}

/** The ring in memory, when this isolate can reach it directly; undefined when it must call its home. */
export function localRing(ref: RingRef): Ring | undefined {
  if (ref.buffer) return new Ring(ref.buffer);
  return ref.home === home.id && home.serves ? served.get(ref[RING_KEY]) : undefined;
}

/**
 * The ring `ref` names, once it is served here, when it lives in this OS
 * process and this isolate serves it but has not been told of it yet: a
 * worker registers a ring with the root as it sends it away, and the item
 * naming it (in shared memory) may overtake that registration (a message).
 * Undefined for any other ref. Resolves to undefined if the registration
 * does not come.
 */
export function pendingRing(ref: RingRef): Promise<Ring | undefined> | undefined {
  const id = ref[RING_KEY];
  if (ref.buffer || ref.home !== home.id || !home.serves || served.has(id) || unserved.has(id)) {
    return undefined;
  }
  return Promise.resolve(servedRing(id));
}

/** Whether a ring without its buffer lives in this OS process, served by another isolate (the root). */
export function servedNearby(ref: RingRef): boolean {
  return !ref.buffer && ref.home === home.id && !home.serves;
}

// The codec meets shareable objects inside queue items and messages: they
// become descriptors, and the rings in those become ids served from here.
setObjectExporter((object) =>
  describeForBytes(object) ??
    (RING_KEY in object && (object as RingRef).buffer ? exportRingRef(object as RingRef) : object)
);
