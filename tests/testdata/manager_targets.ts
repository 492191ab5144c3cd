/**
 * Registered types and process targets for the Manager tests. The factories
 * run in the manager's process; the targets run in children and report what
 * they saw through a queue (or by writing through a proxy), so a test awaits
 * a `get` with a timeout instead of sleeping.
 */

import {
  ArrayProxy,
  BaseProxy,
  currentProcess,
  DictProxy,
  ListProxy,
  NamespaceProxy,
  Queue,
  ValueProxy,
} from "../../mod.ts";
import * as helpers from "../_helpers.ts";
import { CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

/** What a caught error looks like once reported through a queue, with the built-in class it is. */
export interface Caught extends helpers.Caught {
  /** The built-in class it still is, as seen in the process that caught it. */
  kind: string;
}

/** The name of the built-in error class `error` is an instance of, checked with instanceof. */
function kindOf(error: unknown): string {
  for (const Kind of [RangeError, TypeError, ReferenceError, SyntaxError]) {
    if (error instanceof Kind) return Kind.name;
  }
  return error instanceof Error ? "Error" : typeof error;
}

export function caught(error: unknown): Caught {
  return { ...helpers.caught(error), kind: kindOf(error) };
}

/** What a promise came to: its value, or its error as `caught` shows it. */
function outcome(promise: Promise<unknown>): Promise<helpers.Outcome<unknown, Caught>> {
  return helpers.outcome(promise, caught);
}

export class CustomError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CustomError";
  }
}

// --- Registered types (their factories run in the manager's process) ---

/** A counter with public, private, async and failing methods, and a non-method field. */
export class Counter {
  /** Not a method: never exposed. */
  label = "a counter";
  #n: number;

  constructor(start: number) {
    this.#n = start;
  }

  add(by = 1): number {
    this.#n += by;
    return this.#n;
  }

  total(): number {
    return this.#n;
  }

  /** Async: its answer comes after a turn of the manager's event loop. */
  async addLater(by: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return this.add(by);
  }

  /** Async and failing. */
  async failLater(message: string): Promise<never> {
    await Promise.resolve();
    throw new RangeError(message);
  }

  /** Throws an error of the kind asked for. */
  fail(kind: string): never {
    switch (kind) {
      case "range":
        throw new RangeError("out of range on purpose");
      case "type":
        throw new TypeError("wrong type on purpose");
      case "reference":
        throw new ReferenceError("no such thing on purpose");
      case "custom":
        throw new CustomError("custom on purpose");
      default:
        throw new Error(`plain ${kind}`);
    }
  }

  /** Private by name: not exposed by default. */
  _secret(): string {
    return "hidden";
  }

  /** Answers something that cannot be copied back. */
  uncopyable(): { callback(): void } {
    return { callback() {} };
  }

  /** Where it runs: the manager's process. */
  where(): string {
    return currentProcess().name;
  }
}

/** Makes a Counter; registered by the tests. */
export function counter(start = 0): Counter {
  return new Counter(start);
}

/** Makes a Counter after a turn of the event loop: a factory may be async. */
export async function counterLater(start = 0): Promise<Counter> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  return new Counter(start);
}

/** A plain object whose own properties are its methods (as in the Manager docs). */
export function tally(): { add(by: number): number; total(): number } {
  let n = 0;
  return { add: (by: number) => (n += by), total: () => n };
}

/**
 * Calls that wait for one another: `wait()` answers once `open(value)` is
 * called; `whenWaiting(n)` answers once `n` calls wait. A server that
 * answered one call at a time would never answer any of them.
 */
export class Gate {
  #waiters: ((value: unknown) => void)[] = [];
  #watchers: { n: number; resolve: (count: number) => void }[] = [];

  wait(): Promise<unknown> {
    const waited = new Promise((resolve) => this.#waiters.push(resolve));
    for (const watcher of this.#watchers.filter(({ n }) => this.#waiters.length >= n)) {
      this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
      watcher.resolve(this.#waiters.length);
    }
    return waited;
  }

  whenWaiting(n: number): Promise<number> | number {
    if (this.#waiters.length >= n) return this.#waiters.length;
    return new Promise((resolve) => this.#watchers.push({ n, resolve }));
  }

  waiting(): number {
    return this.#waiters.length;
  }

  /** Lets every waiting call answer `value`; gives how many there were. */
  open(value: unknown): number {
    const waiters = this.#waiters.splice(0);
    for (const resolve of waiters) resolve(value);
    return waiters.length;
  }
}

export function gate(): Gate {
  return new Gate();
}

/** A factory that returns no object: it cannot be managed. */
export function notAnObject(): number {
  return 42;
}

/** A factory that throws. */
export function brokenFactory(): never {
  throw new RangeError("the factory failed on purpose");
}

// --- Process targets ---

/** The proxies `useEveryProxy` is given. */
export interface EveryProxy {
  dict: DictProxy<string, unknown>;
  list: ListProxy<unknown>;
  ns: NamespaceProxy;
  value: ValueProxy<number>;
  array: ArrayProxy<number>;
  queue: Queue<unknown>;
  counter: BaseProxy;
}

/**
 * Uses every proxy it was given: reads what the parent put there, writes
 * its own, and reports what it saw (errors included) on `out`.
 */
export async function useEveryProxy(proxies: EveryProxy, out: Queue<unknown>): Promise<void> {
  const { dict, list, ns, value, array, queue, counter } = proxies;
  const me = currentProcess().name;
  const report = {
    me,
    classes: {
      dict: dict instanceof DictProxy,
      list: list instanceof ListProxy,
      ns: ns instanceof NamespaceProxy,
      value: value instanceof ValueProxy,
      array: array instanceof ArrayProxy,
      counter: counter instanceof BaseProxy && counter.typeid,
    },
    dict: {
      seed: await dict.get("seed"),
      fallback: await dict.get("missing", "fallback"),
      has: await dict.has("seed"),
      set: await dict.set(me, "was here"),
      len: await dict.len(),
      copy: await dict.copy(),
      pop: await outcome(dict.pop("missing")),
      objectKey: await outcome(dict.set({ an: "object" } as unknown as string, 1)),
    },
    list: {
      last: await list.get(-1),
      append: await list.append(me),
      len: await list.len(),
      outOfRange: await outcome(list.get(99)),
      index: await outcome(list.index("nowhere")),
    },
    ns: {
      x: await ns.get("x"),
      set: await ns.set("child", me),
      missing: await outcome(ns.get("missing")),
    },
    value: {
      before: await value.get(),
      set: await value.set(42),
      after: await value.get(),
    },
    array: {
      first: await array.get(0),
      set: await array.set(-1, 99),
      fraction: await outcome(array.set(0, 1.5)),
      copy: await array.copy(),
    },
    queue: {
      got: await queue.get({ timeout: PATIENCE_MS }),
      put: await queue.put(`${me} put this`),
    },
    counter: {
      add: await counter.call("add", [5]),
      later: await counter.call("addLater", [10]),
      secret: await outcome(counter.call("_secret")),
      fail: await outcome(counter.call("fail", ["range"])),
      where: await counter.call("where"),
    },
  };
  await out.put(report);
}

/** Seed 003: appends this process's name to the list and sets `dict[name]`. */
export async function appendName(
  list: ListProxy<string>,
  dict: DictProxy<string, number>,
  n: number,
): Promise<void> {
  const me = currentProcess().name;
  await list.append(me);
  await dict.set(me, n * n);
}

/** Reads the list proxy stored under `key` in the dict, appends to it, and reports what it got. */
export async function appendToNested(
  dict: DictProxy<string, unknown>,
  key: string,
  out: Queue<unknown>,
): Promise<void> {
  const inner = await dict.get(key);
  const isList = inner instanceof ListProxy;
  if (isList) await inner.append(`from ${currentProcess().name}`);
  await out.put({ isList, typeid: (inner as BaseProxy).typeid });
}

/** Says it is about to wait, waits at the gate, and reports how that ended: `{ value }` or `{ error }`. */
export async function waitAtGate(g: BaseProxy, out: Queue<unknown>): Promise<void> {
  await out.put("waiting");
  await out.put(await outcome(g.call("wait", [], { timeout: PATIENCE_MS })));
}

/** Opens the gate with `value` once `n` calls wait there, and reports how many it let through. */
export async function openGate(g: BaseProxy, n: number, value: unknown, out: Queue<unknown>): Promise<void> {
  await g.call("whenWaiting", [n], { timeout: PATIENCE_MS });
  await out.put({ opened: await g.call("open", [value]) });
}

/** Reports what `q` says of its size at once, as a child that got it in its args sees it. */
export async function reportSizes(q: Queue<unknown>, out: Queue<unknown>): Promise<void> {
  await out.put({ qsize: q.qsize(), full: q.full(), empty: q.empty() });
}

/** A registered type whose method answers with a new queue holding `n` items (a queue crosses by reference). */
export function queueMaker() {
  return {
    async filled(n: number): Promise<Queue<number>> {
      const q = new Queue<number>();
      for (let i = 0; i < n; i++) await q.put(i);
      return q;
    },
  };
}
