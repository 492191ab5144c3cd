/**
 * Structured clone across an OS process boundary: what `postMessage` copies
 * between isolates, encoded as bytes for the subprocess channel.
 *
 * Why not `node:v8`'s serializer: loading it costs a fresh Deno process
 * ~15 ms and a worker ~6 ms, and it is 15-25x slower than JSON for small
 * messages. This codec is JSON for the tree plus raw bytes for binary data.
 *
 * Every non-JSON value is a tagged array (`["D", time]` for a Date), and
 * every array is tagged too (`["A", …items]`), so nothing a user sends can
 * be mistaken for a tag. Objects are numbered in the order first met, on
 * both sides, so shared and cyclic references come back as they were.
 *
 * Payload: u32 LE length of the JSON, the JSON (UTF-8), then the bytes of
 * every ArrayBuffer, back to back.
 *
 * @module
 */

import { BUILTIN_ERRORS } from "./_error_codec.ts";

type Json = null | boolean | number | string | Json[];

const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedArrayName = keyof typeof TYPED_ARRAYS;

/**
 * Rewrites an object on its way out of this OS process, or returns it as is.
 * `memory/_served.ts` installs one that turns a ring held in shared memory into a
 * reference served from here.
 */
let exportObject: (object: object) => object = (object) => object;

/** Installs the rewrite applied to every plain object this codec encodes. */
export function setObjectExporter(exporter: (object: object) => object): void {
  exportObject = exporter;
}

/**
 * How deep a value a user sends may nest: objects and arrays inside each
 * other, the outermost one counting as level 1. No program's data comes
 * near it; far deeper values would overflow the stack of every walk that
 * copies them (structured clone itself fails near 2,600 levels, JSON near
 * 20,000, this codec near 8,000), as a bare RangeError at an unrelated place.
 */
export const MAX_NESTING = 1000;

/**
 * The codec's own limit by default: a message wraps what a user sent in a
 * few levels of its own (a `spawn` puts args 3 levels down).
 */
const MAX_LEVELS = MAX_NESTING + 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function refuse(value: unknown, why = "could not be cloned."): never {
  let shown: string;
  try {
    shown = typeof value === "function" ? String(value) : Object.prototype.toString.call(value);
  } catch {
    shown = typeof value;
  }
  throw new DOMException(`${shown} ${why}`, "DataCloneError");
}

/**
 * Encodes a value as structured clone would copy it; throws a DataCloneError
 * for what it cannot, and for a value nested more than `maxLevels` deep.
 */
export function encode(value: unknown, maxLevels: number = MAX_LEVELS): Uint8Array {
  const refs = new Map<object, number>();
  const buffers: Uint8Array[] = [];
  let bufferBytes = 0;
  let level = 0;

  const walk = (v: unknown): Json => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        return Number.isFinite(v) && !Object.is(v, -0) ? v : ["n", String(Object.is(v, -0) ? "-0" : v)];
      case "undefined":
        return ["u"];
      case "bigint":
        return ["b", v.toString()];
      case "function":
      case "symbol":
        return refuse(v);
    }
    if (v === null) return null;
    const object = v as object;
    const seen = refs.get(object);
    if (seen !== undefined) return ["r", seen];
    refs.set(object, refs.size);
    if (level === maxLevels) {
      throw new DOMException(
        `A value nested more than ${maxLevels} levels deep could not be cloned`,
        "DataCloneError",
      );
    }
    level++;
    const json = walkObject(object);
    level--;
    return json;
  };

  const walkObject = (object: object): Json => {
    if (Array.isArray(object)) return ["A", ...object.map(walk)];
    if (object instanceof Date) return ["D", walk(object.getTime())];
    if (object instanceof RegExp) return ["R", object.source, object.flags];
    if (object instanceof Map) {
      const out: Json[] = ["M"];
      for (const [key, item] of object) out.push(walk(key), walk(item));
      return out;
    }
    if (object instanceof Set) return ["S", ...[...object].map(walk)];
    if (object instanceof ArrayBuffer) {
      const start = bufferBytes;
      buffers.push(new Uint8Array(object));
      bufferBytes += object.byteLength;
      return ["B", start, object.byteLength];
    }
    if (typeof SharedArrayBuffer !== "undefined" && object instanceof SharedArrayBuffer) {
      return refuse(
        object,
        "cannot be shared with another OS process; use the worker backend to share memory.",
      );
    }
    if (ArrayBuffer.isView(object)) {
      // A RawArray is a typed array too: the exporter refuses it (shared memory).
      const exported = exportObject(object);
      if (exported !== object) return walk(exported);
      const kind = object instanceof DataView ? "DataView" : object.constructor.name;
      const length = object instanceof DataView
        ? object.byteLength
        : (object as unknown as { length: number }).length;
      return ["T", kind, walk(object.buffer), object.byteOffset, length];
    }
    if (object instanceof Error) {
      const hasCause = "cause" in object;
      return [
        "E",
        object.name,
        object.message,
        object.stack ?? null,
        hasCause ? walk(object.cause) : ["u"],
        hasCause,
      ];
    }
    if (
      object instanceof Promise || object instanceof WeakMap || object instanceof WeakSet ||
      object instanceof WeakRef
    ) {
      return refuse(object);
    }
    for (const Box of [Number, String, Boolean, BigInt] as const) {
      if (object instanceof Box) return ["P", Box.name, walk(object.valueOf())];
    }
    // Any other object, class instances included, becomes a plain object of
    // its own enumerable properties, as structured clone makes it.
    const out: Json[] = ["O"];
    const exported = exportObject(object);
    for (const key of Object.keys(exported)) out.push(key, walk((exported as Record<string, unknown>)[key]));
    return out;
  };

  const json = encoder.encode(JSON.stringify(walk(value)));
  const payload = new Uint8Array(4 + json.byteLength + bufferBytes);
  new DataView(payload.buffer).setUint32(0, json.byteLength, true);
  payload.set(json, 4);
  let at = 4 + json.byteLength;
  for (const bytes of buffers) {
    payload.set(bytes, at);
    at += bytes.byteLength;
  }
  return payload;
}

/** Decodes what `encode` made. Throws on anything else, and on a value nested more than `maxLevels` deep. */
export function decode(payload: Uint8Array, maxLevels: number = MAX_LEVELS): unknown {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const jsonLength = view.getUint32(0, true);
  const tree = JSON.parse(decoder.decode(payload.subarray(4, 4 + jsonLength))) as Json;
  const binary = payload.subarray(4 + jsonLength);
  const refs: unknown[] = [];
  const keep = <T>(made: T): T => (refs.push(made), made);
  let level = 0;

  const build = (node: Json): unknown => {
    if (!Array.isArray(node)) return node;
    // Tags that are not objects are no level, as `encode` counts.
    if (node[0] === "u" || node[0] === "n" || node[0] === "b" || node[0] === "r") return buildTagged(node);
    if (level === maxLevels) {
      throw new SyntaxError(`Cannot decode a value nested more than ${maxLevels} levels deep`);
    }
    level++;
    const built = buildTagged(node);
    level--;
    return built;
  };

  const buildTagged = (node: Json[]): unknown => {
    const [tag, ...rest] = node;
    switch (tag) {
      case "u":
        return undefined;
      case "n":
        return rest[0] === "-0" ? -0 : Number(rest[0]);
      case "b":
        return BigInt(rest[0] as string);
      case "r":
        if (typeof rest[0] !== "number" || rest[0] >= refs.length) {
          throw new SyntaxError("Cannot decode a dangling reference");
        }
        return refs[rest[0]];
      case "A": {
        const array = keep([] as unknown[]);
        for (const item of rest) array.push(build(item));
        return array;
      }
      case "O": {
        const object = keep({} as Record<string, unknown>);
        for (let i = 0; i < rest.length; i += 2) {
          const key = rest[i] as string;
          // A key "__proto__" is an own property, as structured clone makes it, not the prototype.
          if (key === "__proto__") {
            Object.defineProperty(object, key, {
              value: build(rest[i + 1]!),
              writable: true,
              enumerable: true,
              configurable: true,
            });
          } else object[key] = build(rest[i + 1]!);
        }
        return object;
      }
      case "D": {
        const date = keep(new Date(0));
        date.setTime(build(rest[0]!) as number);
        return date;
      }
      case "R":
        return keep(new RegExp(rest[0] as string, rest[1] as string));
      case "M": {
        const map = keep(new Map());
        for (let i = 0; i < rest.length; i += 2) map.set(build(rest[i]!), build(rest[i + 1]!));
        return map;
      }
      case "S": {
        const set = keep(new Set());
        for (const item of rest) set.add(build(item));
        return set;
      }
      case "B": {
        const [start, length] = rest as [number, number];
        if (start + length > binary.byteLength) {
          throw new SyntaxError("Cannot decode a buffer past the payload");
        }
        return keep(binary.slice(start, start + length).buffer);
      }
      case "T": {
        const slot = refs.length;
        refs.push(undefined); // the view's number, taken before its buffer's
        const [kind, buffer, offset, length] = [rest[0] as string, build(rest[1]!), rest[2], rest[3]];
        const View = (kind === "DataView" ? DataView : TYPED_ARRAYS[kind as TypedArrayName]) as
          | (new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView)
          | undefined;
        if (!View || !(buffer instanceof ArrayBuffer)) throw new SyntaxError(`Cannot decode a ${kind}`);
        return refs[slot] = new View(buffer, offset as number, length as number);
      }
      case "E": {
        const [name, message, stack, cause, hasCause] = rest as [
          string,
          string,
          string | null,
          Json,
          boolean,
        ];
        const error: Error = keep(Object.create((BUILTIN_ERRORS[name] ?? Error).prototype));
        Object.defineProperty(error, "message", { value: message, writable: true, configurable: true });
        if (!(name in BUILTIN_ERRORS)) {
          Object.defineProperty(error, "name", { value: name, writable: true, configurable: true });
        }
        if (stack !== null) {
          Object.defineProperty(error, "stack", { value: stack, writable: true, configurable: true });
        }
        if (hasCause) {
          Object.defineProperty(error, "cause", { value: build(cause), writable: true, configurable: true });
        }
        return error;
      }
      case "P": {
        const slot = refs.length;
        refs.push(undefined);
        return refs[slot] = Object(build(rest[1]!));
      }
      default:
        throw new SyntaxError(`Cannot decode a value tagged ${JSON.stringify(tag)}`);
    }
  };
  return build(tree);
}
