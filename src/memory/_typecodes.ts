/**
 * Python's `array`/ctypes typecodes, as typed arrays over shared memory:
 * what each stores, how a JavaScript value is checked on the way in and
 * shown on the way out.
 *
 * @module
 */

/** Typed-array constructors, by typecode. */
const ARRAYS = {
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
  l: BigInt64Array,
  L: BigUint64Array,
  q: BigInt64Array,
  Q: BigUint64Array,
  f: Float32Array,
  d: Float64Array,
  c: Uint8Array,
} as const;

/**
 * The typed array each typecode is stored in: Python's ctypes, with `l` and
 * `L` 64 bits wide, as on Linux and macOS.
 *
 * @example
 * ```ts
 * import { type TypecodeStorage, Value } from "@troupe/troupe";
 *
 * const cells: TypecodeStorage["d"] = new Value("d", 1.5).getObj();
 * ```
 */
export interface TypecodeStorage {
  /** signed char: -128 to 127 */
  b: Int8Array;
  /** unsigned char: 0 to 255 */
  B: Uint8Array;
  /** short: 16 bits, signed */
  h: Int16Array;
  /** unsigned short: 16 bits */
  H: Uint16Array;
  /** int: 32 bits, signed */
  i: Int32Array;
  /** unsigned int: 32 bits */
  I: Uint32Array;
  /** long: 64 bits, signed (a bigint) */
  l: BigInt64Array;
  /** unsigned long: 64 bits (a bigint) */
  L: BigUint64Array;
  /** long long: 64 bits, signed (a bigint) */
  q: BigInt64Array;
  /** unsigned long long: 64 bits (a bigint) */
  Q: BigUint64Array;
  /** float: 32 bits */
  f: Float32Array;
  /** double: 64 bits */
  d: Float64Array;
  /** char: one byte, shown as a one-character string */
  c: Uint8Array;
}

/**
 * A typecode: `b B h H i I l L q Q f d c`, as in Python's `array` module.
 *
 * @example
 * ```ts
 * import { type Typecode, Value } from "@troupe/troupe";
 *
 * const code: Typecode = "i";
 * new Value(code, 0);
 * ```
 */
export type Typecode = keyof TypecodeStorage;

/**
 * The JavaScript type of one element: a number, a bigint for the 64-bit
 * integers (`l L q Q`), and a one-byte string for `c`.
 *
 * @example
 * ```ts
 * import type { ElementOf } from "@troupe/troupe";
 *
 * const big: ElementOf<"q"> = 2n ** 40n;
 * const letter: ElementOf<"c"> = "h";
 * ```
 */
export type ElementOf<C extends Typecode> = C extends "l" | "L" | "q" | "Q" ? bigint
  : C extends "c" ? string
  : number;

/**
 * The typed array a typecode is stored in.
 *
 * @example
 * ```ts
 * import { type StorageOf, Value } from "@troupe/troupe";
 *
 * const cells: StorageOf<"i"> = new Value("i", 5).getObj();
 * ```
 */
export type StorageOf<C extends Typecode> = TypecodeStorage[C];

/** Every typecode, in Python's order, for messages. */
const LISTED = Object.keys(ARRAYS).join(" ");

/** `typecode`, checked; throws a TypeError naming `what` for an unknown one. */
export function checkTypecode(typecode: unknown, what: string): Typecode {
  if (typeof typecode === "string" && Object.hasOwn(ARRAYS, typecode)) return typecode as Typecode;
  throw new TypeError(
    `Cannot create a ${what} with typecode ${JSON.stringify(typecode)}: use one of ${LISTED}`,
  );
}

/** A zero-filled typed array of `length` elements of `typecode`, in a new SharedArrayBuffer. */
export function allocate<C extends Typecode>(typecode: C, length: number): StorageOf<C> {
  return view(typecode, new SharedArrayBuffer(length * ARRAYS[typecode].BYTES_PER_ELEMENT));
}

/** The typed array of `typecode` over an existing buffer. */
export function view<C extends Typecode>(typecode: C, buffer: SharedArrayBuffer): StorageOf<C> {
  // One call for a union of constructors: TypeScript cannot pick an overload for it.
  const Storage = ARRAYS[typecode] as unknown as new (buffer: SharedArrayBuffer) => StorageOf<C>;
  return new Storage(buffer);
}

/**
 * What goes into the typed array for `value`, or a TypeError: an integer
 * for the integer codes (overflow wraps silently, as ctypes truncates), any
 * number for `f`/`d`, one byte for `c`.
 */
export function toStored(typecode: Typecode, value: unknown): number | bigint {
  switch (typecode) {
    case "f":
    case "d":
      if (typeof value === "number") return value;
      break;
    case "l":
    case "L":
    case "q":
    case "Q":
      if (typeof value === "bigint") return value;
      if (Number.isInteger(value)) return BigInt(value as number);
      break;
    case "c":
      if (typeof value === "string" && value.length === 1 && value.charCodeAt(0) < 256) {
        return value.charCodeAt(0);
      }
      if (Number.isInteger(value) && (value as number) >= 0 && (value as number) < 256) {
        return value as number;
      }
      throw new TypeError(
        `Cannot store ${show(value)} in a "c" element: give a one-character string (char code 0 to 255)`,
      );
    default:
      if (Number.isInteger(value)) return value as number;
  }
  throw new TypeError(`Cannot store ${show(value)} in a "${typecode}" element: ${wanted(typecode)}`);
}

/** What an element holds, shown as JavaScript: a one-byte string for `c`. */
export function fromStored(typecode: Typecode, stored: number | bigint): number | bigint | string {
  return typecode === "c" ? String.fromCharCode(stored as number) : stored;
}

/** Whether `Atomics` can read and write the elements of `typecode` (the integer ones). */
export function isAtomic(typecode: Typecode): boolean {
  return typecode !== "f" && typecode !== "d";
}

function wanted(typecode: Typecode): string {
  if (typecode === "f" || typecode === "d") return "give a number";
  if ("lLqQ".includes(typecode)) return "give a bigint or an integer";
  return "give an integer (a fraction is not truncated, as in Python)";
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  return typeof value === "object" && value !== null ? Object.prototype.toString.call(value) : String(value);
}
