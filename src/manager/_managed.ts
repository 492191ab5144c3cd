/**
 * The objects a manager's server holds for the built-in types: a dict, a
 * list, a Namespace, a Value and an Array, with Python's methods and
 * errors. Proxies call their methods by name; arguments and results cross
 * by copy.
 *
 * @module
 */

import { RawArray, type Typecode } from "../sync/shared_memory.ts";

/** A key a dict holds: compared by value, so only primitives (an object would arrive as a copy). */
type Key = string | number | bigint | boolean | null;

function checkKey(key: unknown): Key {
  if (key === null || ["string", "number", "bigint", "boolean"].includes(typeof key)) return key as Key;
  throw new TypeError(
    `Cannot use ${Object.prototype.toString.call(key)} as a dict key: keys cross by copy, so use a string, ` +
      "number, bigint, boolean or null",
  );
}

/** Python's `dict`, keyed by value. */
export class ManagedDict {
  readonly #map: Map<Key, unknown>;

  constructor(entries?: Iterable<readonly [unknown, unknown]> | Record<string, unknown>) {
    this.#map = new Map();
    if (entries) this.update(entries);
  }

  get(key: unknown, fallback?: unknown): unknown {
    const k = checkKey(key);
    return this.#map.has(k) ? this.#map.get(k) : fallback;
  }

  set(key: unknown, value: unknown): void {
    this.#map.set(checkKey(key), value);
  }

  has(key: unknown): boolean {
    return this.#map.has(checkKey(key));
  }

  /** Removes `key`; false when it was not there. */
  delete(key: unknown): boolean {
    return this.#map.delete(checkKey(key));
  }

  /** Removes and returns `key`'s value, or `fallback`; a RangeError (Python's KeyError) without one. */
  pop(key: unknown, ...fallback: unknown[]): unknown {
    const k = checkKey(key);
    if (this.#map.has(k)) {
      const value = this.#map.get(k);
      this.#map.delete(k);
      return value;
    }
    if (fallback.length > 0) return fallback[0];
    throw new RangeError(`Cannot pop ${String(key)} as the dict has no such key`);
  }

  setdefault(key: unknown, fallback?: unknown): unknown {
    const k = checkKey(key);
    if (!this.#map.has(k)) this.#map.set(k, fallback);
    return this.#map.get(k);
  }

  update(entries: Iterable<readonly [unknown, unknown]> | Record<string, unknown>): void {
    const pairs = Symbol.iterator in entries
      ? entries as Iterable<readonly [unknown, unknown]>
      : Object.entries(entries as Record<string, unknown>);
    for (const [key, value] of pairs) this.#map.set(checkKey(key), value);
  }

  keys(): Key[] {
    return [...this.#map.keys()];
  }

  values(): unknown[] {
    return [...this.#map.values()];
  }

  items(): [Key, unknown][] {
    return [...this.#map.entries()];
  }

  len(): number {
    return this.#map.size;
  }

  clear(): void {
    this.#map.clear();
  }

  copy(): Map<Key, unknown> {
    return new Map(this.#map);
  }
}

/** Python's `list`: negative indexes count from the end; out of range is a RangeError (IndexError). */
export class ManagedList {
  readonly #items: unknown[];

  constructor(items: Iterable<unknown> = []) {
    this.#items = [...items];
  }

  get(index: number): unknown {
    return this.#items[this.#at(index)];
  }

  set(index: number, value: unknown): void {
    this.#items[this.#at(index)] = value;
  }

  append(value: unknown): void {
    this.#items.push(value);
  }

  extend(values: Iterable<unknown>): void {
    this.#items.push(...values);
  }

  insert(index: number, value: unknown): void {
    const length = this.#items.length;
    const at = index < 0 ? Math.max(0, index + length) : Math.min(index, length);
    this.#items.splice(at, 0, value);
  }

  pop(index = -1): unknown {
    if (this.#items.length === 0) throw new RangeError("Cannot pop from an empty list");
    return this.#items.splice(this.#at(index), 1)[0];
  }

  /** Removes the first item equal to `value` (by `Object.is`, or structurally for plain data). */
  remove(value: unknown): void {
    this.#items.splice(this.index(value), 1);
  }

  index(value: unknown): number {
    const at = this.#items.findIndex((item) => same(item, value));
    if (at < 0) throw new RangeError(`Cannot find ${show(value)} in the list`);
    return at;
  }

  count(value: unknown): number {
    return this.#items.filter((item) => same(item, value)).length;
  }

  len(): number {
    return this.#items.length;
  }

  slice(start?: number, end?: number): unknown[] {
    return this.#items.slice(start, end);
  }

  reverse(): void {
    this.#items.reverse();
  }

  /** Sorts numbers and strings in Python's order (numbers by value, not as text). */
  sort(reverse = false): void {
    this.#items.sort((a, b) => (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0);
    if (reverse) this.#items.reverse();
  }

  clear(): void {
    this.#items.length = 0;
  }

  copy(): unknown[] {
    return [...this.#items];
  }

  #at(index: number): number {
    const length = this.#items.length;
    if (!Number.isInteger(index)) {
      throw new TypeError(`Cannot index a list with ${String(index)}: use an integer`);
    }
    const at = index < 0 ? index + length : index;
    if (at < 0 || at >= length) {
      throw new RangeError(
        `Cannot use index ${index} of a list of length ${length}: list index out of range`,
      );
    }
    return at;
  }
}

/** Python's `Namespace`: named attributes. */
export class ManagedNamespace {
  readonly #attributes: Map<string, unknown>;

  constructor(attributes: Record<string, unknown> = {}) {
    this.#attributes = new Map(Object.entries(attributes));
  }

  get(name: string): unknown {
    if (!this.#attributes.has(name)) {
      throw new RangeError(`Cannot read ${name} as the Namespace has no such attribute`);
    }
    return this.#attributes.get(name);
  }

  set(name: string, value: unknown): void {
    this.#attributes.set(String(name), value);
  }

  delete(name: string): boolean {
    return this.#attributes.delete(name);
  }

  copy(): Record<string, unknown> {
    return Object.fromEntries(this.#attributes);
  }

  toString(): string {
    const shown = [...this.#attributes].sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => `${k}=${show(v)}`);
    return `Namespace(${shown.join(", ")})`;
  }
}

/** Python's manager `Value`: a plain object with a value, not shared memory. */
export class ManagedValue {
  readonly typecode: string;
  #value: unknown;

  constructor(typecode: string, value: unknown) {
    this.typecode = typecode;
    this.#value = value;
  }

  get(): unknown {
    return this.#value;
  }

  set(value: unknown): void {
    this.#value = value;
  }
}

/** Python's manager `Array`: an `array.array`, here a typed array with the typecode's checks. */
export class ManagedArray {
  readonly #array: RawArray;

  constructor(typecode: Typecode, items: number | Iterable<number | bigint | string>) {
    this.#array = new RawArray(typecode, items);
  }

  get(index: number): unknown {
    return this.#array.get(index);
  }

  set(index: number, value: number | bigint | string): void {
    this.#array.set(index, value);
  }

  len(): number {
    return this.#array.length;
  }

  copy(): unknown[] {
    return this.#array.slice();
  }
}

/** Equality for list searches: `Object.is`, or by JSON for plain data (what arrives is always a copy). */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
