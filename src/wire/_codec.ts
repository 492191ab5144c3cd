/**
 * Structured clone across an OS process boundary: what `postMessage` copies
 * between isolates, encoded as bytes for the subprocess channel.
 *
 * Why not `node:v8`'s serializer: loading it costs a fresh Deno process
 * ~15 ms and a worker ~6 ms, and it is 15-25x slower than JSON for small
 * messages. This codec is JSON for the tree plus raw bytes for binary data.
 *
 * Every non-JSON value is a tagged array (`["D", time]` for a Date), and
 * every array is tagged too (`["A", …items]`, or `["a", length, …keys and
 * values]` for one with holes or properties of its own), so nothing a user
 * sends can be mistaken for a tag. Objects are numbered in the order first
 * met, on both sides, so shared and cyclic references come back as they were.
 * Errors keep what `_error_codec.ts` says an error keeps (its class name, own
 * fields, `errors`), which is more than structured clone does.
 *
 * Payload: u32 LE length of the JSON, the JSON (UTF-8), then the bytes of
 * every ArrayBuffer, back to back.
 *
 * @module
 */

import {
  defineErrorField,
  defineErrorPart,
  errorFieldKeys,
  errorShell,
  safeString,
  textOf,
} from "./_error_codec.ts";

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
  // Where the platform has it (Deno 2.9 does), as structured clone copies it.
  ...(typeof Float16Array === "function" ? { Float16Array } : {}),
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

  const tooDeep = (): never => {
    throw new DOMException(
      `A value nested more than ${maxLevels} levels deep could not be cloned`,
      "DataCloneError",
    );
  };

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
    if (level === maxLevels) tooDeep();
    level++;
    const json = walkObject(object);
    level--;
    return json;
  };

  /**
   * `walk`, or the value's text when it cannot cross: what an error's cause
   * and fields cross as, by `_error_codec.ts`'s rule. What the failed walk
   * numbered and collected is forgotten, so the numbering stays the decoder's.
   */
  const walkOrText = (v: unknown): Json => {
    const [numbered, collected, collectedBytes, atLevel] = [refs.size, buffers.length, bufferBytes, level];
    try {
      return walk(v);
    } catch {
      for (const [object, n] of refs) if (n >= numbered) refs.delete(object);
      buffers.length = collected;
      bufferBytes = collectedBytes;
      level = atLevel;
      return safeString(v);
    }
  };

  /** An AggregateError's `errors`, as `walk` writes an array, but each entry that cannot cross as its text. */
  const walkErrors = (errors: unknown[]): Json => {
    const seen = refs.get(errors);
    if (seen !== undefined) return ["r", seen];
    refs.set(errors, refs.size);
    if (level === maxLevels) tooDeep();
    level++;
    const out: Json[] = ["A"];
    for (let i = 0; i < errors.length; i++) out.push(walkOrText(errors[i]));
    level--;
    return out;
  };

  const walkObject = (object: object): Json => {
    if (Array.isArray(object)) return walkArray(object);
    if (object instanceof Date) return ["D", walk(object.getTime())];
    if (object instanceof RegExp) return ["R", object.source, object.flags];
    if (object instanceof Map) {
      const out: Json[] = ["M"];
      for (const [key, item] of object) out.push(walk(key), walk(item));
      return out;
    }
    if (object instanceof Set) return ["S", ...[...object].map(walk)];
    if (object instanceof ArrayBuffer) {
      if (object.detached) return refuse(object, "is detached and could not be cloned.");
      const start = bufferBytes;
      buffers.push(new Uint8Array(object));
      bufferBytes += object.byteLength;
      // A resizable buffer stays resizable, as structured clone keeps it.
      return object.resizable
        ? ["B", start, object.byteLength, object.maxByteLength]
        : ["B", start, object.byteLength];
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
      const kind = object instanceof DataView ? "DataView" : typedArrayName(object);
      if (kind === undefined) return refuse(object);
      const buffer = object.buffer;
      if (buffer instanceof ArrayBuffer && buffer.detached) {
        return refuse(buffer, "is detached and could not be cloned.");
      }
      // A view past the end of its shrunk buffer: structured clone refuses it.
      if (buffer instanceof ArrayBuffer && buffer.resizable && outOfBounds(object)) return refuse(object);
      const length = object instanceof DataView
        ? object.byteLength
        : (object as unknown as { length: number }).length;
      return ["T", kind, walk(buffer), object.byteOffset, length];
    }
    if (object instanceof Error) {
      // `_error_codec.ts`'s parts, in the order the decoder numbers them: cause, errors, fields.
      const hasCause = "cause" in object;
      const errors = object instanceof AggregateError && Array.isArray(object.errors)
        ? object.errors
        : undefined;
      const out: Json[] = [
        "E",
        textOf(object.name),
        textOf(object.message),
        object.stack === undefined ? null : textOf(object.stack),
        hasCause,
        hasCause ? walkOrText(object.cause) : null,
        errors ? walkErrors(errors) : null,
      ];
      for (const key of errorFieldKeys(object)) {
        out.push(key, walkOrText((object as unknown as Record<string, unknown>)[key]));
      }
      return out;
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

  /**
   * A dense array without properties of its own goes as its items; any
   * other as its length and its own keys and values, so holes stay holes
   * and properties come along, as structured clone keeps them.
   */
  const walkArray = (array: unknown[]): Json => {
    const keys = Object.keys(array);
    const length = array.length;
    // Own keys list indices first, ascending: all of them, and nothing else, when the last is `length - 1`.
    if (keys.length === length && (length === 0 || keys[length - 1] === String(length - 1))) {
      const out: Json[] = ["A"];
      for (let i = 0; i < length; i++) out.push(walk(array[i]));
      return out;
    }
    const out: Json[] = ["a", length];
    for (const key of keys) out.push(key, walk((array as unknown as Record<string, unknown>)[key]));
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
      case "a": {
        const length = rest[0];
        if (typeof length !== "number" || !Number.isInteger(length) || length < 0 || length > 2 ** 32 - 1) {
          throw new SyntaxError("Cannot decode an array of that length");
        }
        const array = keep([] as unknown[]);
        array.length = length;
        defineKeys(array, rest, 1);
        return array;
      }
      case "O": {
        const object = keep({} as Record<string, unknown>);
        defineKeys(object, rest, 0);
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
        const [start, length, maxByteLength] = rest as [number, number, number | undefined];
        if (start + length > binary.byteLength) {
          throw new SyntaxError("Cannot decode a buffer past the payload");
        }
        if (maxByteLength === undefined) return keep(binary.slice(start, start + length).buffer);
        if (typeof maxByteLength !== "number" || !(maxByteLength >= length)) {
          throw new SyntaxError("Cannot decode a resizable buffer smaller than its bytes");
        }
        const buffer = keep(new ArrayBuffer(length, { maxByteLength }));
        new Uint8Array(buffer).set(binary.subarray(start, start + length));
        return buffer;
      }
      case "T": {
        const slot = refs.length;
        refs.push(undefined); // the view's number, taken before its buffer's
        const [kind, buffer, offset, length] = [rest[0] as string, build(rest[1]!), rest[2], rest[3]];
        const View =
          (kind === "DataView"
            ? DataView
            : Object.hasOwn(TYPED_ARRAYS, kind)
            ? TYPED_ARRAYS[kind as TypedArrayName]
            : undefined) as
              | (new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView)
              | undefined;
        if (!View || !(buffer instanceof ArrayBuffer)) throw new SyntaxError(`Cannot decode a ${kind}`);
        return refs[slot] = new View(buffer, offset as number, length as number);
      }
      case "E": {
        const [name, message, stack, hasCause, cause, errors] = rest as [
          string,
          string,
          string | null,
          boolean,
          Json,
          Json,
        ];
        if (
          typeof name !== "string" || typeof message !== "string" ||
          (stack !== null && typeof stack !== "string")
        ) {
          throw new SyntaxError("Cannot decode an error without its name and message as text");
        }
        const error = keep(errorShell(name, message, stack ?? undefined));
        if (hasCause) defineErrorPart(error, "cause", build(cause));
        if (errors !== null) {
          const built = build(errors);
          if (!Array.isArray(built)) throw new SyntaxError("Cannot decode an error whose errors are no list");
          defineErrorPart(error, "errors", built);
        }
        for (let i = 6; i < rest.length; i += 2) {
          const key = rest[i];
          if (typeof key !== "string") throw new SyntaxError("Cannot decode an error field without a name");
          defineErrorField(error, key, build(rest[i + 1]!));
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
  /** Sets the key and value pairs of `node` from `from` on `target`, each an own property as a clone makes it. */
  const defineKeys = (target: Record<string, unknown> | unknown[], node: Json[], from: number) => {
    for (let i = from; i < node.length; i += 2) {
      const key = node[i];
      if (typeof key !== "string" || (Array.isArray(target) && key === "length")) {
        throw new SyntaxError("Cannot decode a property without a name");
      }
      const value = build(node[i + 1]!);
      // A key "__proto__" is an own property, as structured clone makes it, not the prototype.
      if (key === "__proto__") {
        Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
      } else (target as Record<string, unknown>)[key] = value;
    }
  };
  return build(tree);
}

/** %TypedArray%.prototype's own `Symbol.toStringTag` getter: a typed array's class name, a subclass's base. */
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get!;

/** %TypedArray%.prototype.at, which throws for a view out of its buffer's bounds (whose offset and length read 0). */
const typedArrayAt = Object.getPrototypeOf(Uint8Array.prototype).at as (
  this: ArrayBufferView,
  i: number,
) => unknown;

/** Whether `view` lies past the end of its (resizable, since shrunk) buffer. */
function outOfBounds(view: ArrayBufferView): boolean {
  try {
    // Both throw for a view out of bounds, and only then.
    if (view instanceof DataView) view.byteLength;
    else typedArrayAt.call(view, 0);
    return false;
  } catch {
    return true;
  }
}

/** The name of a typed array's class, if it is one this codec carries (a subclass is its base class). */
function typedArrayName(view: ArrayBufferView): TypedArrayName | undefined {
  const name = typedArrayTag.call(view) as string | undefined;
  return name !== undefined && Object.hasOwn(TYPED_ARRAYS, name) ? name as TypedArrayName : undefined;
}
