/**
 * Objects that cross to a child by reference rather than by copy: queues,
 * pipe ends, mailboxes, actor refs, and (to isolates of this OS process) locks and shared values. Structured clone
 * would turn them into `{}`, so on the way out (`reduce`) each one is
 * replaced by a descriptor, and on the way in (`revive`) the descriptor
 * becomes a live object again, Python's pickle `__reduce__` in spirit.
 *
 * A descriptor holds `RingRef`s: the SharedArrayBuffer itself while it stays
 * in this OS process, so every isolate works on it directly; once it crosses
 * to another OS process, only the ring's id and its home, the process whose
 * main isolate serves it (`_served.ts`).
 *
 * An error in the args crosses as `_error_codec.ts`'s record inside a
 * descriptor too, so it keeps its class name and own fields on every
 * backend, as it does in a queue item.
 *
 * @module
 */

import { decodeError, type EncodedError, encodeError } from "../wire/_error_codec.ts";

/** The key that marks a descriptor; its value says which kind of object to rebuild. */
export const SHARED_KEY = "$troupeShared";
/** The key that marks a reference to a ring. */
export const RING_KEY = "$troupeRing";

/** A ring as a descriptor holds it: in memory, or by id at its home. */
export interface RingRef {
  readonly [RING_KEY]: string;
  /** The process whose main isolate serves the ring; 0 for the root's OS process. */
  readonly home: number;
  readonly buffer?: SharedArrayBuffer;
}

/** What a shareable object turns into when it crosses. */
export interface Descriptor {
  readonly [SHARED_KEY]: string;
  readonly [field: string]: unknown;
}

/** How each object that crosses by reference describes itself (kept off the public classes). */
const describers = new WeakMap<object, () => Descriptor>();

/** Objects that live in shared memory, with their kind: they cross only within this OS process. */
const memoryObjects = new WeakMap<object, string>();

/**
 * Makes `object` cross by reference, as `describe()` says. `memoryKind`
 * marks an object that lives in shared memory, which crosses to isolates of
 * this OS process only.
 */
export function makeShareable(object: object, describe: () => Descriptor, memoryKind?: string): void {
  describers.set(object, describe);
  if (memoryKind !== undefined) memoryObjects.set(object, memoryKind);
}

/** Whether `object` crosses by reference (`reduce` replaces it by its descriptor), not by copy. */
export function isShareable(object: object): boolean {
  return describers.has(object);
}

type Reviver = (descriptor: Descriptor) => object;
const revivers = new Map<string, Reviver>();
/** How a discard happens: `gone` when the process that got the descriptor has exited. */
export interface DiscardOptions {
  readonly gone: boolean;
}
type Discarder = (descriptor: Descriptor, options: DiscardOptions) => void;
const discarders = new Map<string, Discarder>();

/**
 * Teaches `revive` how to rebuild descriptors of `kind`, and `discard` how
 * to give back what making one took (a pipe end's copy count).
 */
export function registerReviver(
  kind: string,
  reviver: Reviver,
  discarder?: Discarder,
): void {
  revivers.set(kind, reviver);
  if (discarder) discarders.set(kind, discarder);
}

/**
 * Kinds that live in shared memory (locks, events, values): they cross only
 * to isolates of this OS process, inside a worker's args, never as bytes.
 */
const memoryKinds = new Set<string>();

/** Teaches `revive` how to rebuild a kind that lives in shared memory, and the codec to refuse it. */
export function registerMemoryReviver(kind: string, reviver: Reviver): void {
  memoryKinds.add(kind);
  revivers.set(kind, reviver);
}

/**
 * The kind of the first shared-memory object in `value` (live, or as a
 * descriptor), for refusing it before a launch that would need bytes.
 */
export function memoryKindIn(value: unknown): string | undefined {
  const seen = new Set<object>();
  const walk = (v: unknown): string | undefined => {
    if (typeof v !== "object" || v === null || seen.has(v)) return undefined;
    seen.add(v);
    const kind = memoryObjects.get(v) ?? (v as Partial<Descriptor>)[SHARED_KEY];
    if (kind !== undefined) return memoryKinds.has(kind) ? kind : undefined;
    const inside = Array.isArray(v)
      ? v
      : Object.getPrototypeOf(v) === Object.prototype
      ? Object.values(v)
      : [];
    for (const item of inside) {
      const found = walk(item);
      if (found) return found;
    }
    return undefined;
  };
  return walk(value);
}

/** What revivers left to finish before their objects are used (a Barrier's action to import, a ring to resolve). */
const preparing = new Set<Promise<unknown>>();

/** Records work a reviver started that must succeed before the revived object is used. */
export function prepareRevived(work: Promise<unknown>): void {
  preparing.add(work);
  // Work done is forgotten (a failure is kept for `revivedReady` to report).
  work.then(() => preparing.delete(work), () => {});
}

/** Resolves once the work of every revive so far is done; rejects with its first failure. */
export async function revivedReady(): Promise<void> {
  const works = [...preparing];
  preparing.clear();
  await Promise.all(works);
}

/**
 * The kinds of the descriptors in `value` (fresh from a clone); with
 * `unknownOnly`, only those no loaded module can rebuild yet.
 */
export function kindsIn(value: unknown, options: { readonly unknownOnly: boolean }): Set<string> {
  const kinds = new Set<string>();
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    const kind = (v as Partial<Descriptor>)[SHARED_KEY];
    if (kind !== undefined) {
      if (!options.unknownOnly || !revivers.has(kind)) kinds.add(kind);
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (Object.getPrototypeOf(v) === Object.prototype) {
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return kinds;
}

/** The kinds `revive` knows in this isolate (for a test that every one can be loaded by a child). */
export function revivableKinds(): string[] {
  return [...revivers.keys()];
}

/** A kind with its article, for messages: "a Lock", "an RLock", "an Event". */
export function aKind(kind: string): string {
  return `${/^[AEIOU]/.test(kind) || kind === "RLock" ? "an" : "a"} ${kind}`;
}

/**
 * The error for a shared-memory object met on its way to bytes: it would
 * arrive as a copy, which is never what its sender meant.
 */
function cannotCopy(kind: string): TypeError {
  return new TypeError(
    `Cannot send ${aKind(kind)} to another OS process, or through a queue, pipe or pool task: it lives in ` +
      "shared memory, which only isolates of one OS process share. Pass it in the args of a Process " +
      'with backend: "worker" (or the initargs of a worker Pool), as Python shares locks by inheritance; ' +
      "another OS process can use a Manager's (manager.lock(), manager.value(), …)",
  );
}

/**
 * Gives back what `reduce` took for the descriptors in `value`: because the
 * process never got them (its start failed), or because it has exited
 * (`gone`), however it ended, as an OS closes a dead process's descriptors.
 */
export function discard(value: unknown, options: DiscardOptions = { gone: false }): void {
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    const kind = (v as Record<string, unknown>)[SHARED_KEY];
    if (typeof kind === "string") return discarders.get(kind)?.(v as Descriptor, options);
    if (Array.isArray(v)) v.forEach(walk);
    else if (Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(walk);
  };
  walk(value);
}

/**
 * `value` with every shareable object inside replaced by its descriptor.
 * Containers are copied only along paths that hold one; everything else is
 * returned as is, for structured clone to copy.
 */
export function reduce<T>(value: T): T {
  const seen = new Map<object, unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== "object" || v === null) return v;
    if (seen.has(v)) return seen.get(v);
    const describe = describers.get(v);
    if (describe) {
      const descriptor = describe();
      seen.set(v, descriptor);
      return descriptor;
    }
    if (v instanceof Error) {
      // Structured clone would drop its class name and own fields.
      const descriptor = { [SHARED_KEY]: ERROR_KIND, error: encodeError(v) };
      seen.set(v, descriptor);
      return descriptor;
    }
    seen.set(v, v);
    if (Array.isArray(v)) {
      // Own keys, not indices: holes stay holes and an array's own properties are looked into too.
      let copy: unknown[] | undefined;
      for (const key of Object.keys(v)) {
        const item = (v as unknown as Record<string, unknown>)[key];
        const mapped = walk(item);
        if (mapped !== item) ((copy ??= copyArray(v)) as unknown as Record<string, unknown>)[key] = mapped;
      }
      if (copy) seen.set(v, copy);
      return copy ?? v;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v;
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(v)) {
      const mapped = walk(item);
      if (mapped !== item) (copy ??= { ...v })[key] = mapped;
    }
    if (copy) seen.set(v, copy);
    return copy ?? v;
  };
  return walk(value) as T;
}

/** The kind of an error's descriptor: `_error_codec.ts`'s record of it. */
const ERROR_KIND = "error";

registerReviver(ERROR_KIND, (descriptor) => {
  const error = descriptor.error as Partial<EncodedError> | null;
  if (
    typeof error !== "object" || error === null || typeof error.name !== "string" ||
    typeof error.message !== "string" || typeof error.fields !== "object" || error.fields === null
  ) {
    throw new TypeError("Cannot rebuild an error from a record that is none");
  }
  return decodeError(error as EncodedError);
});

/** A copy of `array` with its holes, its length and its own properties. */
function copyArray(array: unknown[]): unknown[] {
  const copy: unknown[] = [];
  copy.length = array.length;
  return Object.assign(copy, array);
}

/** `value` (fresh from a clone, so free to change) with every descriptor rebuilt. */
export function revive<T>(value: T): T {
  const seen = new Map<object, unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== "object" || v === null) return v;
    if (seen.has(v)) return seen.get(v);
    seen.set(v, v);
    const kind = (v as Record<string, unknown>)[SHARED_KEY];
    if (typeof kind === "string") {
      const reviver = revivers.get(kind);
      if (!reviver) throw new TypeError(`Cannot rebuild a shared ${kind}: its module is not loaded`);
      const revived = reviver(v as Descriptor);
      seen.set(v, revived);
      return revived;
    }
    if (Array.isArray(v)) {
      // Own keys, not indices: a hole must stay a hole, not become undefined.
      const array = v as unknown as Record<string, unknown>;
      for (const key of Object.keys(array)) array[key] = walk(array[key]);
    } else if (Object.getPrototypeOf(v) === Object.prototype) {
      const record = v as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = walk(record[key]);
    }
    return v;
  };
  return walk(value) as T;
}

/** Shareable objects encoded so far; `_item_codec.ts` compares counts to know an item holds one. */
let describedCount = 0;

/** How many shareable objects the codec has replaced by descriptors, ever. */
export function describedSoFar(): number {
  return describedCount;
}

/**
 * What the codec writes for `object` on its way to bytes: its descriptor if
 * it crosses by reference (counted, see {@linkcode describedSoFar}), or
 * undefined for anything else. Throws for an object that lives in shared
 * memory: as bytes it would arrive as a copy, never what its sender meant.
 */
export function describeForBytes(object: object): Descriptor | undefined {
  const kind = memoryObjects.get(object) ?? (object as Partial<Descriptor>)[SHARED_KEY];
  if (kind !== undefined && memoryKinds.has(kind)) throw cannotCopy(kind);
  const describe = describers.get(object);
  if (!describe) return undefined;
  describedCount++;
  return describe();
}
