/**
 * `Value`, `RawValue`, `SharedArray` and `RawArray`: Python's shared ctypes,
 * as typed arrays over a SharedArrayBuffer. A worker-backend child given one
 * in its `args` reads and writes the very same memory as its parent.
 *
 * @module
 */

import {
  allocate,
  checkTypecode,
  type ElementOf,
  fromStored,
  isAtomic,
  type StorageOf,
  toStored,
  type Typecode,
  view,
} from "../memory/_typecodes.ts";
import { engineOf } from "./_semlock.ts";
import { makeShareable, reduce, registerMemoryReviver, revive, SHARED_KEY } from "../memory/_shared.ts";
import { ProcessError } from "../core/errors.ts";
import { type AcquireOptions, type Lock, RLock } from "./lock.ts";

export type { ElementOf, StorageOf, Typecode, TypecodeStorage } from "../memory/_typecodes.ts";

/**
 * What guards a `Value` or `SharedArray`.
 *
 * @example Sharing one lock between two values
 * ```ts
 * import { Lock, Value } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const lock = new Lock();
 * const a = new Value("i", 0, { lock }), b = new Value("i", 0, { lock });
 * assert.equal(a.getLock(), b.getLock());
 * ```
 */
export interface SharedOptions {
  /**
   * `true`: a new RLock; `false`: none (`getLock()` then throws; a RawValue
   * or RawArray says so in its type); or the Lock or RLock to use.
   * @default {true}
   */
  readonly lock?: boolean | Lock | RLock;
}

/** Storage a revived object adopts instead of allocating; set only while one is built. */
let adopted: { buffer: SharedArrayBuffer; lock: Lock | RLock | null } | undefined;

function adopt<T>(descriptor: Record<string, unknown>, make: (typecode: Typecode) => T): T {
  adopted = {
    buffer: descriptor.buffer as SharedArrayBuffer,
    lock: descriptor.lock ? revive(descriptor.lock) as Lock | RLock : null,
  };
  try {
    return make(descriptor.typecode as Typecode);
  } finally {
    adopted = undefined;
  }
}

/** The lock `option` asks for; a TypeError naming `what` for something that is not one. */
function lockFor(option: SharedOptions["lock"], what: string): Lock | RLock | null {
  if (adopted) return adopted.lock;
  if (option === undefined || option === true) return new RLock();
  if (option === false) return null;
  if (engineOf(option)) return option;
  throw new TypeError(
    `Cannot create a ${what} with lock ${String(option)}: give true, false, a Lock or an RLock`,
  );
}

/** Reads element `index` (atomically for the integer codes). */
function read(typecode: Typecode, cells: StorageOf<Typecode>, atomic: boolean, index: number): unknown {
  // Atomics takes every integer typed array; the cast only quiets the overloads.
  const stored = atomic ? Atomics.load(cells as Int32Array, index) : cells[index]!;
  return fromStored(typecode, stored);
}

/** Writes element `index`, checked (atomically for the integer codes). */
function write(
  typecode: Typecode,
  cells: StorageOf<Typecode>,
  atomic: boolean,
  index: number,
  value: unknown,
): void {
  const stored = toStored(typecode, value);
  if (atomic) Atomics.store(cells as Int32Array, index, stored as number);
  else cells[index] = stored as number;
}

/**
 * One number in shared memory with no lock: Python's `RawValue`. Each read
 * and write of `value` is whole (atomic for the integer codes), but a
 * read-modify-write such as `+=` is not.
 *
 * @typeParam C The typecode.
 *
 * @example
 * ```ts
 * import { RawValue } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const hits = new RawValue("i");
 * hits.value = 3;
 * assert.equal(hits.value, 3);
 * ```
 */
export class RawValue<C extends Typecode = Typecode> {
  /** The typecode the value was made with. */
  readonly typecode: C;
  readonly #cells: StorageOf<C>;
  readonly #atomic: boolean;

  /**
   * Creates a value.
   *
   * @param typecode One of `b B h H i I l L q Q f d c`.
   * @param value The initial value. @default {0, 0n or "\0"}
   * @throws {TypeError} For an unknown typecode, or a value it cannot hold.
   */
  constructor(typecode: C, value?: ElementOf<C> | number) {
    const what = new.target.name;
    this.typecode = checkTypecode(typecode, what) as C;
    this.#atomic = isAtomic(typecode);
    this.#cells = adopted ? view(typecode, adopted.buffer) : allocate(typecode, 1);
    if (!adopted && value !== undefined) this.value = value as ElementOf<C>;
    const buffer = this.#cells.buffer;
    makeShareable(this, () => ({ [SHARED_KEY]: "RawValue", typecode, buffer }), "RawValue");
  }

  /**
   * The value. Integer overflow wraps silently, as in Python; a fraction
   * for an integer code throws a TypeError.
   *
   * @example
   * ```ts
   * import { RawValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const small = new RawValue("b", 127);
   * small.value += 1;
   * assert.equal(small.value, -128);
   * ```
   */
  get value(): ElementOf<C> {
    return read(this.typecode, this.#cells, this.#atomic, 0) as ElementOf<C>;
  }

  set value(value: ElementOf<C>) {
    write(this.typecode, this.#cells, this.#atomic, 0, value);
  }

  /**
   * The typed array of one element the value lives in: Python's `get_obj()`.
   *
   * @returns The view (shared, not a copy).
   *
   * @example
   * ```ts
   * import { RawValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const v = new RawValue("i", 5);
   * assert.equal(Atomics.add(v.getObj(), 0, 1), 5);
   * assert.equal(v.value, 6);
   * ```
   */
  getObj(): StorageOf<C> {
    return this.#cells;
  }

  /**
   * Python's repr.
   *
   * @returns For instance `Value("i", 5)`.
   *
   * @example
   * ```ts
   * import { Value } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new Value("i", 5)), 'Value("i", 5)');
   * ```
   */
  toString(): string {
    const value = this.value;
    const shown = typeof value === "string"
      ? JSON.stringify(value)
      : typeof value === "bigint"
      ? `${value}n`
      : value;
    return `${this instanceof Value ? "Value" : "RawValue"}("${this.typecode}", ${shown})`;
  }
}

/** The lock of each Value and SharedArray (null for `lock: false`), which marks them synchronized. */
const locks = new WeakMap<object, Lock | RLock | null>();

/**
 * Makes `object` a synchronized `what` ("Value" or "SharedArray"): its lock
 * as `option` asks, and its descriptor, which carries the lock along.
 */
function synchronize(object: RawValue | RawArray, option: SharedOptions["lock"], what: string): void {
  const lock = lockFor(option, what);
  locks.set(object, lock);
  const { typecode } = object;
  const buffer = object.getObj().buffer;
  makeShareable(
    object,
    () => ({ [SHARED_KEY]: what, typecode, buffer, lock: lock && reduce(lock) }),
    what,
  );
}

/**
 * What a `Value` and a `SharedArray` add to their memory: the lock that
 * guards it, and its methods, as Python's `SynchronizedBase` (the class of
 * `multiprocessing.Value` and `Array`, with `get_lock()`, `acquire()`,
 * `release()` and the `with` block). A class has one parent in
 * JavaScript, and `Value` and `SharedArray` extend `RawValue` and
 * `RawArray`: they take these methods from here, and `instanceof
 * SynchronizedBase` is true of them.
 *
 * Reading or writing the memory does not take the lock (Python's does, for
 * each access): hold it around any update that must not interleave, as
 * Python's `+=` needs `with v.get_lock():` too.
 *
 * @example The lock of a Value
 * ```ts
 * import { SynchronizedBase, Value } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const counter = new Value("i", 0);
 * assert.ok(counter instanceof SynchronizedBase);
 * {
 *   using _held = await counter.hold();
 *   counter.value += 1;
 * }
 * assert.equal(counter.value, 1);
 * ```
 */
export abstract class SynchronizedBase {
  /**
   * Whether `value` is a `Value` or a `SharedArray` (which take their
   * methods from this class rather than extending it).
   *
   * @param value Anything.
   * @returns Whether it has a synchronized object's lock.
   *
   * @example
   * ```ts
   * import { RawValue, SharedArray, SynchronizedBase } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.ok(new SharedArray("i", 2, { lock: false }) instanceof SynchronizedBase);
   * assert.ok(!(new RawValue("i") instanceof SynchronizedBase));
   * ```
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && locks.has(value);
  }

  /**
   * The lock that guards the memory: Python's `get_lock()`.
   *
   * @returns The Lock or RLock.
   * @throws {ProcessError} For a value or array made with `lock: false`.
   *
   * @example
   * ```ts
   * import { RLock, SharedArray, Value } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.ok(new Value("d", 0).getLock() instanceof RLock);
   * assert.ok(new SharedArray("d", 2).getLock() instanceof RLock);
   * ```
   */
  getLock(): Lock | RLock {
    const lock = locks.get(this);
    if (lock) return lock;
    const what = this instanceof SharedArray ? "SharedArray" : "Value";
    throw new ProcessError(`Cannot get the lock of a ${what} made with lock: false: it has none`);
  }

  /**
   * Acquires the lock: Python's `acquire()`.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns Whether the lock is now held.
   * @throws {ProcessError} For a value or array made with `lock: false`.
   *
   * @example
   * ```ts
   * import { Value } from "@troupe/troupe";
   *
   * const v = new Value("i", 0);
   * await v.acquire();
   * v.value += 1;
   * v.release();
   * ```
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.getLock().acquire(options);
  }

  /**
   * Releases the lock: Python's `release()`.
   *
   * @throws {ProcessError} For a value or array made with `lock: false`.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   *
   * const arr = new SharedArray("i", 2);
   * await arr.acquire();
   * arr.release();
   * ```
   */
  release(): void {
    this.getLock().release();
  }

  /**
   * Acquires the lock and gives a guard that releases it: Python's `with`
   * block, as `using _held = await v.hold()`.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns A Disposable that releases once.
   * @throws {ProcessTimeoutError} When the lock was not free in time (the promise rejects).
   * @throws {ProcessError} For a value or array made with `lock: false`.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const arr = new SharedArray("i", 2);
   * {
   *   using _held = await arr.hold();
   *   arr[0]! += 1;
   * }
   * assert.equal(arr[0], 1);
   * ```
   */
  hold(options?: AcquireOptions): Promise<Disposable> {
    return this.getLock().hold(options);
  }
}

/** The lock methods a `Value` takes from {@linkcode SynchronizedBase} (see there). */
export interface Value<C extends Typecode = Typecode> extends SynchronizedBase {}
/**
 * One number in shared memory and the lock that guards it: Python's
 * `multiprocessing.Value`. Reading or writing `value` is whole, but `+=`
 * is a read and then a write, so guard it, as in Python:
 * `using _ = await v.hold(); v.value += 1`. Unlike Python, a read or write
 * of `value` does not take the lock itself (it cannot wait without an
 * `await`): hold the lock around any update that must not interleave. The
 * lock's methods (`getLock`, `acquire`, `release`, `hold`) are
 * {@linkcode SynchronizedBase}'s.
 *
 * @typeParam C The typecode.
 *
 * @example A counter shared with a worker
 * ```ts
 * import { Value } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const counter = new Value("i", 0);
 * {
 *   using _held = await counter.hold();
 *   counter.value += 1;
 * }
 * assert.equal(counter.value, 1);
 * ```
 */
export class Value<C extends Typecode = Typecode> extends RawValue<C> {
  /**
   * Creates a value with its lock.
   *
   * @param typecode One of `b B h H i I l L q Q f d c`.
   * @param value The initial value. @default {0, 0n or "\0"}
   * @param options `lock`: true (a new RLock), false, or the lock to use.
   * @throws {TypeError} For an unknown typecode, a value it cannot hold, or a bad lock.
   */
  constructor(typecode: C, value?: ElementOf<C> | number, options: SharedOptions = {}) {
    super(typecode, value);
    synchronize(this, options.lock, "Value");
  }
}

/** The plain typed array over each RawArray's memory, as `getObj()` gives it. */
const plainViews = new WeakMap<object, StorageOf<Typecode>>();

/** The plain typed array behind `array` (which is itself a typed array, with RawArray's prototype). */
function cellsOf<C extends Typecode>(array: RawArray<C>): StorageOf<C> {
  return plainViews.get(array) as StorageOf<C>;
}

/** What `new RawArray(typecode, sizeOrItems)` stores, checked; `what` names the class for messages. */
function cellsFor<C extends Typecode>(
  typecode: C,
  sizeOrItems: number | Iterable<ElementOf<C> | number>,
  what: string,
): StorageOf<C> {
  if (adopted) return view(typecode, adopted.buffer);
  if (typeof sizeOrItems === "number") {
    if (!Number.isInteger(sizeOrItems) || sizeOrItems < 0) {
      throw new RangeError(
        `Cannot create a ${what} as its size must be a non-negative integer: current value is ${sizeOrItems}`,
      );
    }
    return allocate(typecode, sizeOrItems);
  }
  if (sizeOrItems !== null && typeof sizeOrItems === "object" || typeof sizeOrItems === "string") {
    const items = [...sizeOrItems];
    const cells = allocate(typecode, items.length);
    items.forEach((item, i) => write(typecode, cells, false, i, item));
    return cells;
  }
  throw new TypeError(`Cannot create a ${what} from ${String(sizeOrItems)}: give a length or the items`);
}

/** `index` as a position in an array of `length`, checked; negative ones count from the end. */
function positionOf(index: number, length: number, action: string): number {
  if (!Number.isInteger(index)) {
    throw new TypeError(`Cannot ${action} index ${String(index)} of an array: give an integer index`);
  }
  const at = index < 0 ? index + length : index;
  if (at < 0 || at >= length) {
    throw new RangeError(
      `Cannot ${action} index ${index} of an array of length ${length}: give -${length} to ${length - 1}`,
    );
  }
  return at;
}

/** A `c` array's bytes; a TypeError for another typecode. */
function bytesOf(array: RawArray, what: string): Uint8Array {
  if (array.typecode !== "c") {
    throw new TypeError(
      `Cannot use ${what} of a "${array.typecode}" array: it is for "c" arrays (byte strings)`,
    );
  }
  return cellsOf(array) as Uint8Array;
}

/** The bytes of `text` for a `c` array of `length`; a RangeError when they do not fit. */
function codesFor(text: Uint8Array | string, length: number, what: string): Uint8Array {
  const codes = typeof text === "string" ? Uint8Array.from(text, (c) => toStored("c", c) as number) : text;
  if (codes.length > length) {
    throw new RangeError(
      `Cannot set ${what} to ${codes.length} bytes as the array holds ${length}: the string is too long`,
    );
  }
  return codes;
}

/** The elements of a `c` array, as one-byte strings. */
function* charsOf(bytes: Uint8Array): Generator<string, undefined, undefined> {
  for (let i = 0; i < bytes.length; i++) yield String.fromCharCode(bytes[i]!);
  return undefined;
}

/** The iterator of typed arrays' elements, for the typecodes whose elements are the stored numbers. */
const typedValues = Object.getPrototypeOf(Int8Array.prototype).values as (
  this: StorageOf<Typecode>,
) => Iterator<number | bigint>;

/**
 * A fixed-length array in shared memory with no lock: Python's `RawArray`.
 * It indexes as a typed array does, at a typed array's speed: `arr[i]`
 * reads and `arr[i] = v` writes element `i` of the shared memory, in every
 * process it is shared with, and `arr.length` is its length. An index is
 * the typed array's own: it holds the stored number (a `c` array's bytes
 * are numbers there, as in a `Uint8Array`), a write wraps or truncates
 * silently, and an index out of range reads `undefined` and writes nothing.
 * `get(i)` and `set(i, v)` are Python's indexes: negative ones count from
 * the end, a `c` element is a one-character string, and anything out of
 * range or that the typecode cannot hold throws. Iteration gives what `get`
 * gives. An array of `c` is also a byte string: `value` and `raw`.
 *
 * @typeParam C The typecode.
 *
 * @example Indexing, as in Python
 * ```ts
 * import { RawArray } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const a = new RawArray("i", [1, -2, 3]);
 * for (let i = 0; i < a.length; i++) a[i] = -a[i]!;
 * assert.deepEqual([...a], [-1, 2, -3]);
 * ```
 *
 * @example Python's negative indexes, checked
 * ```ts
 * import { RawArray } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const squares = new RawArray("i", [0, 1, 4]);
 * squares.set(-1, 9);
 * assert.equal(squares.get(-1), 9);
 * assert.throws(() => squares.set(3, 16), RangeError);
 * ```
 */
export class RawArray<C extends Typecode = Typecode> implements Iterable<ElementOf<C>> {
  /** Element `index` of the shared memory, as the typed array holds it (a number, or a bigint for `l L q Q`). */
  [index: number]: StorageOf<C>[number];

  /** The typecode the array was made with. */
  declare readonly typecode: C;

  /**
   * How many elements the array holds (fixed).
   *
   * @example
   * ```ts
   * import { RawArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new RawArray("d", 4).length, 4);
   * ```
   */
  declare readonly length: number;

  /**
   * Creates an array.
   *
   * @param typecode One of `b B h H i I l L q Q f d c`.
   * @param sizeOrItems A length (zero-filled), or the items (a string or bytes for `c`).
   * @throws {TypeError} For an unknown typecode or an item it cannot hold.
   * @throws {RangeError} For a length that is not a non-negative integer.
   */
  constructor(typecode: C, sizeOrItems: number | Iterable<ElementOf<C> | number>) {
    const what = new.target.name;
    checkTypecode(typecode, what);
    const cells = cellsFor(typecode, sizeOrItems, what);
    // The array is a second typed array over the same memory, with this
    // class's prototype: its indexes are a typed array's own (as fast), and
    // a subclass's fields land on it.
    const self = view(typecode, cells.buffer as SharedArrayBuffer);
    Object.setPrototypeOf(self, new.target.prototype);
    Object.defineProperty(self, "typecode", { value: typecode, enumerable: true });
    Object.defineProperty(self, "length", { value: cells.length });
    plainViews.set(self, cells);
    const buffer = cells.buffer;
    makeShareable(self, () => ({ [SHARED_KEY]: "RawArray", typecode, buffer }), "RawArray");
    return self as unknown as RawArray<C>;
  }

  /**
   * Element `index`, as Python's `a[index]`: negative indexes count from
   * the end, and a `c` element is a one-character string.
   *
   * @param index From `-length` to `length - 1`.
   * @returns The element.
   * @throws {RangeError} For an index out of range.
   *
   * @example
   * ```ts
   * import { RawArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new RawArray("c", "hello").get(1), "e");
   * ```
   */
  get(index: number): ElementOf<C> {
    // The array is a typed array itself: Atomics and indexes work on it.
    const cells = this as unknown as StorageOf<C>;
    const at = positionOf(index, this.length, "read");
    return read(this.typecode, cells, isAtomic(this.typecode), at) as ElementOf<C>;
  }

  /**
   * Sets element `index`, as Python's `a[index] = value`: negative indexes
   * count from the end, and a value the typecode cannot hold throws.
   *
   * @param index From `-length` to `length - 1`.
   * @param value What the typecode holds (see `Value.value`).
   * @throws {RangeError} For an index out of range.
   * @throws {TypeError} For a value the typecode cannot hold.
   *
   * @example
   * ```ts
   * import { RawArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const word = new RawArray("c", "hello");
   * word.set(0, "H");
   * assert.equal(word.value, "Hello");
   * ```
   */
  set(index: number, value: ElementOf<C>): void {
    const cells = this as unknown as StorageOf<C>;
    const at = positionOf(index, this.length, "write");
    write(this.typecode, cells, isAtomic(this.typecode), at, value);
  }

  /**
   * Elements `start` to `end` (exclusive), copied out, as Python's `a[start:end]`.
   *
   * @param start Where to start; negative counts from the end. @default {0}
   * @param end Where to stop; negative counts from the end. @default {length}
   * @returns The elements, in a plain array.
   *
   * @example
   * ```ts
   * import { RawArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new RawArray("i", [1, 2, 3, 4]).slice(1, -1), [2, 3]);
   * ```
   */
  slice(start?: number, end?: number): ElementOf<C>[] {
    const copy = cellsOf(this).slice(start, end) as ArrayLike<number | bigint>;
    return Array.from(copy, (stored) => fromStored(this.typecode, stored)) as ElementOf<C>[];
  }

  /**
   * Iterates the elements, as Python's `for x in arr`: what `get` gives
   * (a `c` array's elements as one-character strings).
   *
   * @returns An iterator over the elements.
   *
   * @example
   * ```ts
   * import { RawArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual([...new RawArray("i", 3)], [0, 0, 0]);
   * assert.deepEqual([...new RawArray("c", "ab")], ["a", "b"]);
   * ```
   */
  [Symbol.iterator](): Iterator<ElementOf<C>> {
    const cells = cellsOf(this);
    return (this.typecode === "c" ? charsOf(cells as Uint8Array) : typedValues.call(cells)) as Iterator<
      ElementOf<C>
    >;
  }

  /**
   * A typed array over the elements' memory: Python's `get_obj()`, for the
   * typed arrays' methods (`fill`, `subarray`, …) and for `Atomics`.
   *
   * @returns The view (shared, not a copy).
   *
   * @example
   * ```ts
   * import { RawArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const arr = new RawArray("i", 3);
   * arr.getObj().fill(7);
   * assert.equal(Atomics.add(arr.getObj(), 0, 1), 7);
   * assert.deepEqual([...arr], [8, 7, 7]);
   * ```
   */
  getObj(): StorageOf<C> {
    return cellsOf(this);
  }

  /**
   * A `c` array as a string: the bytes up to the first NUL, as Python's
   * `.value`. Setting it writes the bytes and a NUL when there is room.
   *
   * @throws {TypeError} For an array of another typecode.
   * @throws {RangeError} When set to a string longer than the array.
   *
   * @example
   * ```ts
   * import { RawArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const name = new RawArray("c", 8);
   * name.value = "troupe";
   * assert.equal(name.value, "troupe");
   * ```
   */
  get value(): string {
    const bytes = bytesOf(this, "value");
    const end = bytes.indexOf(0);
    return String.fromCharCode(...bytes.slice(0, end === -1 ? bytes.length : end));
  }

  set value(text: string) {
    const bytes = bytesOf(this, "value");
    const codes = codesFor(text, bytes.length, "value");
    bytes.set(codes);
    if (codes.length < bytes.length) bytes[codes.length] = 0;
  }

  /**
   * A `c` array's bytes, all of them, copied out: Python's `.raw`. Setting
   * it writes the bytes from the start.
   *
   * @throws {TypeError} For an array of another typecode.
   * @throws {RangeError} When set to more bytes than the array holds.
   *
   * @example
   * ```ts
   * import { RawArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new RawArray("c", "hi").raw, new Uint8Array([104, 105]));
   * ```
   */
  get raw(): Uint8Array {
    return bytesOf(this, "raw").slice();
  }

  set raw(bytes: Uint8Array | string) {
    const cells = bytesOf(this, "raw");
    cells.set(codesFor(bytes, cells.length, "raw"));
  }

  /**
   * Python's repr.
   *
   * @returns For instance `SharedArray("i", [1, 2, 3])`.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new SharedArray("i", [1, 2])), 'SharedArray("i", [1, 2])');
   * ```
   */
  toString(): string {
    const items = this.slice().map((item) =>
      typeof item === "string" ? JSON.stringify(item) : typeof item === "bigint" ? `${item}n` : item
    );
    return `${this instanceof SharedArray ? "SharedArray" : "RawArray"}("${this.typecode}", [${
      items.join(", ")
    }])`;
  }
}

// Shown as its repr (with Deno's inspection of the elements), not as a typed array's every index.
Object.defineProperty(RawArray.prototype, Symbol.for("Deno.customInspect"), {
  value(this: RawArray, inspect: (value: unknown, options: unknown) => string, options: unknown): string {
    return `${this instanceof SharedArray ? "SharedArray" : "RawArray"}("${this.typecode}", ${
      inspect(this.slice(), options)
    })`;
  },
});

/** The lock methods a `SharedArray` takes from {@linkcode SynchronizedBase} (see there). */
export interface SharedArray<C extends Typecode = Typecode> extends SynchronizedBase {}
/**
 * A fixed-length array in shared memory and the lock that guards it:
 * Python's `multiprocessing.Array` (named so as not to shadow JavaScript's
 * `Array`). It indexes as {@linkcode RawArray} does: `arr[i]`, `arr[i] = v`
 * and `arr.length` at a typed array's speed, in every process it is shared
 * with. Neither an index nor `get`/`set` takes the lock (Python's indexing
 * takes it for each access, which JavaScript cannot do without an `await`):
 * hold the lock around updates that must not interleave, as `a[i] += 1`
 * needs `with a.get_lock():` in Python too. The lock's methods (`getLock`,
 * `acquire`, `release`, `hold`) are {@linkcode SynchronizedBase}'s.
 *
 * @typeParam C The typecode.
 *
 * @example
 * ```ts
 * import { SharedArray } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const shm = new SharedArray("i", [1, 2, 3]);
 * {
 *   using _held = await shm.hold();
 *   shm[1]! *= 500;
 * }
 * assert.deepEqual([...shm], [1, 1000, 3]);
 * ```
 */
export class SharedArray<C extends Typecode = Typecode> extends RawArray<C> {
  /**
   * Creates an array with its lock.
   *
   * @param typecode One of `b B h H i I l L q Q f d c`.
   * @param sizeOrItems A length (zero-filled), or the items (a string or bytes for `c`).
   * @param options `lock`: true (a new RLock), false, or the lock to use.
   * @throws {TypeError} For an unknown typecode, an item it cannot hold, or a bad lock.
   * @throws {RangeError} For a length that is not a non-negative integer.
   */
  constructor(
    typecode: C,
    sizeOrItems: number | Iterable<ElementOf<C> | number>,
    options: SharedOptions = {},
  ) {
    super(typecode, sizeOrItems);
    synchronize(this, options.lock, "SharedArray");
  }
}

// Value and SharedArray take SynchronizedBase's methods (see there why they do not extend it).
for (const synchronized of [Value, SharedArray]) {
  for (const [name, method] of Object.entries(Object.getOwnPropertyDescriptors(SynchronizedBase.prototype))) {
    if (name !== "constructor") Object.defineProperty(synchronized.prototype, name, method);
  }
}

registerMemoryReviver("RawValue", (d) => adopt(d, (typecode) => new RawValue(typecode)));
registerMemoryReviver("Value", (d) => adopt(d, (typecode) => new Value(typecode)));
registerMemoryReviver("RawArray", (d) => adopt(d, (typecode) => new RawArray(typecode, 0)));
registerMemoryReviver("SharedArray", (d) => adopt(d, (typecode) => new SharedArray(typecode, 0)));
