/**
 * Proxies: handles on objects a `Manager` holds, usable from any process,
 * worker or subprocess. Every method is one round trip to the manager; what
 * goes in and what comes back is copied, except proxies and queues, which
 * cross by reference.
 *
 * @module
 */

import { checkDuration } from "../core/_duration.ts";
import { revivePlace, sendToManager } from "./_manager_link.ts";
import type { ManagerPlace } from "../runtime/_protocol.ts";
import { makeShareable, reduce, registerReviver, SHARED_KEY } from "../memory/_shared.ts";

/**
 * How long a proxy call waits: by default for as long as the manager lives
 * (a call to a manager that exits rejects at once).
 *
 * @example
 * ```ts
 * import type { CallOptions } from "@troupe/troupe";
 *
 * const options: CallOptions = { timeout: 1000 };
 * ```
 */
export interface CallOptions {
  /** Milliseconds to wait for the answer, then reject with `ProcessTimeoutError`; `Infinity` is no limit. @default {Infinity} */
  readonly timeout?: number;
  /** Stops waiting; the call rejects with the signal's reason (the manager may still run it). */
  readonly signal?: AbortSignal;
}

/** What each proxy stands for, for the manager that receives a proxy of its own. */
const targets = new WeakMap<BaseProxy, { readonly id: number; readonly place: ManagerPlace }>();

/** The object `proxy` stands for: its id, and the manager that holds it. */
export function proxyTarget(proxy: BaseProxy): { readonly id: number; readonly place: ManagerPlace } {
  return targets.get(proxy)!;
}

/** What the next proxy built is made of; set only while one is built. */
let making: { typeid: string; id: number; place: ManagerPlace } | undefined;

/**
 * A handle on an object a manager holds, Python's `BaseProxy`: `call` runs
 * one of its methods in the manager. The typed proxies (`DictProxy`,
 * `ListProxy`, …) are this with named methods; a type you register gives
 * plain `BaseProxy`s.
 *
 * Proxies pass to children of both backends in `args`, and inside values
 * given to other proxies, and stay live: a proxy stored in a managed dict is
 * still a handle on the same object when read back. A plain object read
 * back is a copy: changing it changes nothing in the manager (as in Python).
 *
 * @example Calling a method by name
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const list = await manager.list([3, 1, 2]);
 * await list.call("sort");
 * assert.deepEqual(await list.call("copy"), [1, 2, 3]);
 * ```
 */
export class BaseProxy {
  /** The type of the object: "dict", "list", … or a registered name. */
  readonly typeid: string;
  readonly #id: number;
  readonly #place: ManagerPlace;

  /** Proxies come from a Manager; this throws otherwise. */
  constructor() {
    const made = making;
    making = undefined;
    if (!made) throw new TypeError("Cannot create a proxy directly: get one from a Manager");
    const { typeid, id, place } = made;
    this.typeid = typeid;
    this.#id = id;
    this.#place = place;
    targets.set(this, { id, place });
    makeShareable(this, () => ({
      [SHARED_KEY]: "proxy",
      typeid,
      id,
      place: { ...place, server: place.server === null ? null : reduce(place.server) },
    }));
  }

  /**
   * Runs `method` of the object in the manager: Python's `_callmethod`.
   *
   * @typeParam T What the method returns.
   * @param method A method the type exposes.
   * @param args Its arguments (copied).
   * @param options `timeout` and `signal`.
   * @returns A copy of what the method returned (a proxy or queue stays a reference).
   * @throws {TypeError} For a method the type does not expose.
   * @throws {ActorExitedError} When the manager has shut down or died.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * const d = await manager.dict({ a: 1 });
   * assert.equal(await d.call("get", ["a"]), 1);
   * ```
   */
  call<T = unknown>(method: string, args: readonly unknown[] = [], options: CallOptions = {}): Promise<T> {
    try {
      checkDuration(options.timeout, `call ${method}`, "timeout");
    } catch (error) {
      return Promise.reject(error);
    }
    return sendToManager(this.#place, { op: "call", id: this.#id, method, args }, options) as Promise<T>;
  }

  /**
   * Python's repr of a proxy.
   *
   * @returns For instance `<DictProxy typeid "dict" id 1>`.
   *
   * @example
   * ```ts
   * import { Manager } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using manager = await new Manager().start();
   * assert.match(String(await manager.list()), /^<ListProxy typeid "list" id \d+>$/);
   * ```
   */
  toString(): string {
    return `<${this.constructor.name} typeid "${this.typeid}" id ${this.#id}>`;
  }
}

/** A dict key: keys cross by copy, so they are compared by value. */
export type DictKey = string | number | bigint | boolean | null;

/**
 * A proxy on a managed `dict` (Python's `DictProxy`). Keys are primitives,
 * compared by value. Python's `d[k]` is `get(k)`, `d[k] = v` is `set(k, v)`,
 * `len(d)` is `len()`, `k in d` is `has(k)`, and `dict(d)` is `copy()`.
 *
 * @typeParam K The keys.
 * @typeParam V The values.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const d = await manager.dict<string, number>();
 * await d.set("a", 1);
 * assert.equal(await d.get("a"), 1);
 * assert.equal(await d.get("b", 0), 0);
 * assert.deepEqual(await d.copy(), new Map([["a", 1]]));
 * ```
 */
export class DictProxy<K extends DictKey = DictKey, V = unknown> extends BaseProxy {
  /** The value of `key`, or `fallback` (undefined) when it has none: Python's `d.get(k, default)`. */
  get(key: K, fallback?: V): Promise<V | undefined> {
    return this.call("get", fallback === undefined ? [key] : [key, fallback]);
  }

  /** Sets `key` to `value`: Python's `d[k] = v`. */
  set(key: K, value: V): Promise<void> {
    return this.call("set", [key, value]);
  }

  /** Whether `key` is there: Python's `k in d`. */
  has(key: K): Promise<boolean> {
    return this.call("has", [key]);
  }

  /** Removes `key`; false when it was not there: Python's `del d[k]`. */
  delete(key: K): Promise<boolean> {
    return this.call("delete", [key]);
  }

  /** Removes `key` and gives its value, or `fallback`; rejects with a RangeError (KeyError) without one. */
  pop(key: K, ...fallback: [V?]): Promise<V> {
    return this.call("pop", [key, ...fallback]);
  }

  /** The value of `key`, set to `fallback` first if it has none. */
  setdefault(key: K, fallback: V): Promise<V> {
    return this.call("setdefault", [key, fallback]);
  }

  /** Sets every entry of `entries` (pairs, or an object's own properties). */
  update(entries: Iterable<readonly [K, V]> | Record<string, V>): Promise<void> {
    return this.call("update", [Symbol.iterator in entries ? [...entries as Iterable<[K, V]>] : entries]);
  }

  /** The keys, in insertion order. */
  keys(): Promise<K[]> {
    return this.call("keys");
  }

  /** The values, in insertion order. */
  values(): Promise<V[]> {
    return this.call("values");
  }

  /** The entries, in insertion order: Python's `d.items()`. */
  items(): Promise<[K, V][]> {
    return this.call("items");
  }

  /** How many entries: Python's `len(d)`. */
  len(): Promise<number> {
    return this.call("len");
  }

  /** Removes every entry. */
  clear(): Promise<void> {
    return this.call("clear");
  }

  /** A copy of the whole dict, as a Map: Python's `dict(d)` or `d.copy()`. */
  copy(): Promise<Map<K, V>> {
    return this.call("copy");
  }
}

/**
 * A proxy on a managed `list` (Python's `ListProxy`). Indexes may be
 * negative; out of range rejects with a RangeError (Python's IndexError).
 *
 * @typeParam T The items.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const l = await manager.list<number>([1]);
 * await l.append(2);
 * assert.equal(await l.get(-1), 2);
 * assert.deepEqual(await l.copy(), [1, 2]);
 * ```
 */
export class ListProxy<T = unknown> extends BaseProxy {
  /** Item `index`: Python's `l[i]`. */
  get(index: number): Promise<T> {
    return this.call("get", [index]);
  }

  /** Sets item `index`: Python's `l[i] = v`. */
  set(index: number, value: T): Promise<void> {
    return this.call("set", [index, value]);
  }

  /** Adds `value` at the end. */
  append(value: T): Promise<void> {
    return this.call("append", [value]);
  }

  /** Adds every value of `values` at the end. */
  extend(values: Iterable<T>): Promise<void> {
    return this.call("extend", [[...values]]);
  }

  /** Inserts `value` before `index`. */
  insert(index: number, value: T): Promise<void> {
    return this.call("insert", [index, value]);
  }

  /** Removes and gives item `index` (the last by default). */
  pop(index = -1): Promise<T> {
    return this.call("pop", [index]);
  }

  /** Removes the first item equal to `value`; rejects with a RangeError (ValueError) when none is. */
  remove(value: T): Promise<void> {
    return this.call("remove", [value]);
  }

  /** Where the first item equal to `value` is; rejects with a RangeError when none is. */
  index(value: T): Promise<number> {
    return this.call("index", [value]);
  }

  /** How many items equal `value`. */
  count(value: T): Promise<number> {
    return this.call("count", [value]);
  }

  /** How many items: Python's `len(l)`. */
  len(): Promise<number> {
    return this.call("len");
  }

  /** Items `start` to `end` (exclusive), copied: Python's `l[start:end]`. */
  slice(start?: number, end?: number): Promise<T[]> {
    return this.call("slice", [start, end]);
  }

  /** Reverses the list in place. */
  reverse(): Promise<void> {
    return this.call("reverse");
  }

  /** Sorts numbers or strings in place, by value. */
  sort(reverse = false): Promise<void> {
    return this.call("sort", [reverse]);
  }

  /** Removes every item. */
  clear(): Promise<void> {
    return this.call("clear");
  }

  /** A copy of the whole list: Python's `l[:]`. */
  copy(): Promise<T[]> {
    return this.call("copy");
  }
}

/**
 * A proxy on a managed `Namespace`: named attributes. Python's `ns.x` is
 * `get("x")` and `ns.x = 1` is `set("x", 1)`; a missing one rejects with a
 * RangeError (Python's AttributeError).
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const ns = await manager.namespace({ name: "Bob" });
 * await ns.set("age", 42);
 * assert.deepEqual(await ns.copy(), { name: "Bob", age: 42 });
 * ```
 */
export class NamespaceProxy extends BaseProxy {
  /** Attribute `name`. */
  get<T = unknown>(name: string): Promise<T> {
    return this.call("get", [name]);
  }

  /** Sets attribute `name`. */
  set(name: string, value: unknown): Promise<void> {
    return this.call("set", [name, value]);
  }

  /** Removes attribute `name`; false when it was not there. */
  delete(name: string): Promise<boolean> {
    return this.call("delete", [name]);
  }

  /** Every attribute, copied into a plain object. */
  copy(): Promise<Record<string, unknown>> {
    return this.call("copy");
  }
}

/**
 * A proxy on a managed `Value`: one value in the manager (not shared
 * memory). Python's `v.value` is `get()`, `v.value = x` is `set(x)`.
 *
 * @typeParam T The value.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const v = await manager.value("i", 1);
 * await v.set(2);
 * assert.equal(await v.get(), 2);
 * ```
 */
export class ValueProxy<T = unknown> extends BaseProxy {
  /** The value. */
  get(): Promise<T> {
    return this.call("get");
  }

  /** Replaces the value. */
  set(value: T): Promise<void> {
    return this.call("set", [value]);
  }
}

/**
 * A proxy on a managed `Array`: a typed array in the manager, with the
 * typecode's checks.
 *
 * @typeParam T The elements.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const a = await manager.array("i", [1, 2, 3]);
 * await a.set(0, 10);
 * assert.deepEqual(await a.copy(), [10, 2, 3]);
 * ```
 */
export class ArrayProxy<T = number> extends BaseProxy {
  /** Element `index` (negative counts from the end). */
  get(index: number): Promise<T> {
    return this.call("get", [index]);
  }

  /** Sets element `index`. */
  set(index: number, value: T): Promise<void> {
    return this.call("set", [index, value]);
  }

  /** How many elements. */
  len(): Promise<number> {
    return this.call("len");
  }

  /** Every element, copied. */
  copy(): Promise<T[]> {
    return this.call("copy");
  }
}

/** The proxy class of each built-in type. */
const PROXIES: Record<string, new () => BaseProxy> = {
  dict: DictProxy,
  list: ListProxy,
  Namespace: NamespaceProxy,
  Value: ValueProxy,
  Array: ArrayProxy,
};

/** Teaches `makeProxy` the proxy class of `typeid` (the lock proxies, from their own module). */
export function setProxyClass(typeid: string, proxyClass: new () => BaseProxy): void {
  PROXIES[typeid] = proxyClass;
}

/** A proxy of the right class on object `id` of type `typeid`, held by the manager at `place`. */
export function makeProxy(typeid: string, id: number, place: ManagerPlace): BaseProxy {
  making = { typeid, id, place };
  return new (Object.hasOwn(PROXIES, typeid) ? PROXIES[typeid]! : BaseProxy)();
}

registerReviver("proxy", (descriptor) => {
  const { typeid, id, place } = descriptor as unknown as { typeid: string; id: number; place: ManagerPlace };
  return makeProxy(typeid, id, revivePlace(place));
});
