/**
 * How a queue or pipe item is written as bytes. Most items are plain data
 * (numbers, strings, arrays and plain objects of them), and for those JSON
 * is exact and about ten times cheaper than the general codec, mostly
 * because it writes straight into shared memory without allocating a
 * buffer. Anything JSON would change (undefined, -0, Dates, Maps, cycles,
 * binary data, errors, class instances, arrays with holes or properties of
 * their own) goes through `_codec.ts`.
 *
 * An encoded item is a format byte (JSON, codec, or codec holding shareable
 * objects to rebuild) and the payload.
 *
 * @module
 */

import { findUncloneable } from "../wire/_clone_path.ts";
import { decode as decodeValue, encode as encodeValue, MAX_NESTING } from "../wire/_codec.ts";
import { describedSoFar, revive } from "./_shared.ts";

/** The format byte of a JSON item. */
const JSON_FORMAT = 0;
/** The format byte of a general-codec item. */
const CODEC_FORMAT = 1;
/** A general-codec item that holds shareable objects (queues, pipe ends, actor refs) to rebuild. */
const SHARED_FORMAT = 2;

const MAX_DEPTH = 32;

/**
 * Whether JSON carries `value` unchanged: plain data only, each object met
 * once (JSON would copy a shared one, and never ends on a cycle).
 */
function jsonExact(value: unknown, depth: number, seen: { objects?: Set<object> }): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth === MAX_DEPTH) return false;
      if (depth > 0) {
        // Only items with nested objects pay for the set.
        const objects = seen.objects ??= new Set();
        if (objects.has(value)) return false;
        objects.add(value);
      }
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          // A hole reads as undefined, which JSON would turn into null.
          if (!jsonExact(value[i], depth + 1, seen)) return false;
        }
        // With no holes, a key more than the items is a property of its own, which JSON would drop.
        return Object.keys(value).length === value.length;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (!jsonExact((value as Record<string, unknown>)[key], depth + 1, seen)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** An item ready to be written: JSON text, or general-codec bytes (`shared` when they hold shareables). */
export type Prepared = { readonly json: string; readonly bytes?: undefined } | {
  readonly json?: undefined;
  readonly bytes: Uint8Array;
  readonly shared: boolean;
};

/**
 * Turns an item into what is written, before any lock is taken. Throws a
 * DataCloneError for a value that cannot cross (a function, a symbol, a
 * value nested more than `maxLevels` deep, …). An item that wraps what a
 * user gave (a pool task) allows for its own levels.
 */
export function prepare(value: unknown, maxLevels: number = MAX_NESTING): Prepared {
  if (jsonExact(value, 0, {})) return { json: JSON.stringify(value) };
  const described = describedSoFar();
  const bytes = encodeValue(value, maxLevels);
  return { bytes, shared: describedSoFar() !== described };
}

/**
 * `prepare`, for a value a user sends (`what`: "item" or "message"), with a
 * DataCloneError turned into a TypeError that names the part that cannot cross.
 */
export function prepareOrExplain(value: unknown, what: string, verb: string): Prepared {
  try {
    return prepare(value);
  } catch (error) {
    if (!(error instanceof DOMException && error.name === "DataCloneError")) throw error;
    const path = findUncloneable(value, what, true);
    throw new TypeError(
      `Cannot ${verb} ${path ?? `the ${what} (${error.message})`}: ${
        /^[aeiou]/.test(what) ? "an" : "a"
      } ${what} ` +
        "is copied to the process " +
        "that takes it, so send data (no functions, symbols, promises, weak collections or shared memory)",
      { cause: error },
    );
  }
}

/** The most bytes `prepared` can take once encoded (format byte included). */
export function maxEncodedBytes(prepared: Prepared): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  return 1 + (prepared.json !== undefined ? prepared.json.length * 3 : prepared.bytes.byteLength);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes `prepared` into `bytes` from `at` (at least `maxEncodedBytes` free);
 * returns the bytes written. (`bytes` views a growable buffer, where reading
 * or writing element by element is ~10x slower: only whole-range copies.)
 */
export function writeItem(prepared: Prepared, bytes: Uint8Array, at: number): number {
  const { json } = prepared;
  if (json !== undefined) {
    bytes[at] = JSON_FORMAT;
    return 1 + encoder.encodeInto(json, bytes.subarray(at + 1, at + 1 + json.length * 3)).written;
  }
  bytes[at] = prepared.shared ? SHARED_FORMAT : CODEC_FORMAT;
  bytes.set(prepared.bytes, at + 1);
  return 1 + prepared.bytes.byteLength;
}

/**
 * What a reader takes out of shared memory while it holds the lock: JSON
 * text, or a copy of the codec bytes with their format byte (decoded after
 * the lock is released).
 */
export type Taken = string | Uint8Array;

/** Where JSON text is copied out of shared memory: decoding it in place costs ~6x more. */
let scratch = new Uint8Array(4096);
/** Items larger than this are copied to a buffer of their own, so the scratch stays small. */
const SCRATCH_LIMIT = 1 << 20;

/** Copies the encoded item of `length` bytes at `at` out of (possibly shared) memory. */
export function takeItem(bytes: Uint8Array, at: number, length: number): Taken {
  const end = at + length;
  if (bytes[at] !== JSON_FORMAT) return bytes.slice(at, end);
  const textLength = length - 1;
  if (textLength > SCRATCH_LIMIT) return decoder.decode(bytes.slice(at + 1, end));
  if (textLength > scratch.byteLength) scratch = new Uint8Array(Math.max(textLength, scratch.byteLength * 2));
  scratch.set(bytes.subarray(at + 1, end));
  return decoder.decode(scratch.subarray(0, textLength));
}

/** The value a taken item stands for. */
export function finishItem(taken: Taken): unknown {
  if (typeof taken === "string") return JSON.parse(taken);
  const value = decodeValue(taken.subarray(1));
  return taken[0] === SHARED_FORMAT ? revive(value) : value;
}
