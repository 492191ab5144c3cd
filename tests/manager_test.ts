import assert from "node:assert/strict";
import {
  activeChildren,
  ActorExitedError,
  ArrayProxy,
  type Backend,
  BaseProxy,
  type DictKey,
  DictProxy,
  JoinableQueue,
  ListProxy,
  Manager,
  NamespaceProxy,
  Process,
  ProcessError,
  ProcessTimeoutError,
  Queue,
  QueueFullError,
  ValueProxy,
} from "../mod.ts";
import { BACKENDS, joined, managerProcess, PATIENCE_MS, processTest as test, within } from "./_helpers.ts";
import * as targets from "./testdata/manager_targets.ts";

const module = targets.MODULE;

/** A started manager on `backend`, with the test types registered. */
function startManager(backend: Backend): Promise<Manager> {
  const manager = new Manager({ backend });
  manager.register("Counter", targets.counter, { module });
  manager.register("Gate", targets.gate, { module });
  return manager.start();
}

/** Asserts that `promise` rejects with an error of exactly the built-in class `kind`, matching `message`. */
async function rejectsWith(
  promise: Promise<unknown>,
  kind: ErrorConstructor,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof kind, `${String(error)} is a ${kind.name}`);
    assert.equal(Object.getPrototypeOf(error), kind.prototype, `${String(error)} is exactly a ${kind.name}`);
    if (message) assert.match((error as Error).message, message);
    return true;
  });
}

/** What a child reports for an error: see `caught()` in the targets. */
type Caught = targets.Caught;

// ---------------------------------------------------------------------------
// Without a process
// ---------------------------------------------------------------------------

Deno.test("Manager rejects an unknown backend and a module that is not a URL with a TypeError", () => {
  assert.throws(() => new Manager({ backend: "thread" as Backend }), TypeError);
  assert.throws(() => new Manager({ module: "./relative.ts" }), TypeError);
});

Deno.test("a type named like an Object.prototype member is a registered type like any other", async () => {
  // The built-ins are looked up as own entries of their table: "toString" once found Object.prototype's.
  await using manager = new Manager();
  manager.register("toString", targets.counter, { module });
  await manager.start();
  const counter = await within(manager.create("toString", 5));
  assert.equal(await within(counter.call("add", [2])), 7);
});

Deno.test("Manager.register() rejects built-in names, empty names, bad exposed lists and unnamed factories", () => {
  const manager = new Manager();
  for (const typeid of ["dict", "list", "Namespace", "Value", "Array", "Queue", "JoinableQueue", ""]) {
    assert.throws(() => manager.register(typeid, targets.counter, { module }), TypeError, typeid);
  }
  assert.throws(
    () => manager.register("Counter", targets.counter, { module, exposed: "add" as unknown as string[] }),
    TypeError,
  );
  assert.throws(
    () => manager.register("Counter", targets.counter, { module, exposed: [1 as unknown as string] }),
    TypeError,
  );
  assert.throws(() => manager.register("Arrow", () => ({}), { module }), TypeError);
  assert.throws(
    () => manager.register("Class", targets.Counter as unknown as () => unknown, { module }),
    TypeError,
  );
  assert.throws(() => manager.register("Counter", targets.counter, { module: "not a url" }), TypeError);
  // A good registration still works after the failed ones, and may be repeated.
  manager.register("Counter", targets.counter, { module });
  manager.register("Counter", targets.counter, { module, exposed: ["add"] });
});

Deno.test("Manager methods before start() reject with a ProcessError", async () => {
  const manager = new Manager();
  await assert.rejects(manager.dict(), ProcessError);
  await assert.rejects(manager.list(), ProcessError);
  await assert.rejects(manager.queue(), ProcessError);
  await assert.rejects(manager.create("Counter"), ProcessError);
  await manager.shutdown();
});

Deno.test("A proxy cannot be made directly: new BaseProxy() throws a TypeError", () => {
  assert.throws(() => new BaseProxy(), TypeError);
  assert.throws(() => new DictProxy(), TypeError);
});

// ---------------------------------------------------------------------------
// Every proxy type, from the main isolate, on a manager of each backend
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  const managed = (name: string, fn: (manager: Manager) => Promise<void>) =>
    test(`[${backend} manager] ${name}`, async () => {
      await using manager = await startManager(backend);
      await fn(manager);
    });

  managed("Manager runs as a daemon process named SyncManager-N, gone after shutdown()", async (manager) => {
    const process = managerProcess();
    assert.match(process.name, /^SyncManager-\d+$/);
    assert.equal(process.daemon, true);
    assert.equal(process.exitCode, null);
    const c = await manager.create("Counter");
    assert.equal(await c.call("where"), process.name, "objects live in the manager's process");
    await manager.shutdown();
    assert.notEqual(process.exitCode, null);
    assert.ok(!activeChildren().includes(process));
  });

  managed(
    "DictProxy: get, set, has, delete, setdefault, update, keys, values, items, len, clear and copy",
    async (manager) => {
      const d = await manager.dict<string, unknown>({ a: 1, b: 2 });
      assert.ok(d instanceof DictProxy && d instanceof BaseProxy);
      assert.equal(d.typeid, "dict");
      assert.match(String(d), /^<DictProxy typeid "dict" id \d+>$/);
      assert.equal(await d.get("a"), 1);
      assert.equal(await d.get("missing"), undefined);
      assert.equal(await d.get("missing", "fallback"), "fallback");
      await d.set("u", undefined);
      assert.equal(await d.get("u", "fallback"), undefined, "a stored undefined is not missing");
      assert.equal(await d.has("u"), true);
      assert.equal(await d.has("missing"), false);
      assert.equal(await d.delete("u"), true);
      assert.equal(await d.delete("u"), false);
      assert.equal(await d.setdefault("a", 100), 1, "setdefault keeps what is there");
      assert.equal(await d.setdefault("c", 3), 3);
      await d.update({ d: 4 });
      await d.update([["e", 5]]);
      await d.update(new Map([["a", 10]]));
      assert.deepEqual(
        await d.keys(),
        ["a", "b", "c", "d", "e"],
        "insertion order; an update keeps a key's place",
      );
      assert.deepEqual(await d.values(), [10, 2, 3, 4, 5]);
      assert.deepEqual(await d.items(), [["a", 10], ["b", 2], ["c", 3], ["d", 4], ["e", 5]]);
      assert.equal(await d.len(), 5);
      const copy = await d.copy();
      assert.ok(copy instanceof Map);
      assert.deepEqual(copy, new Map([["a", 10], ["b", 2], ["c", 3], ["d", 4], ["e", 5]]));
      copy.set("z", 26);
      assert.equal(await d.has("z"), false, "the copy is a copy");
      await d.clear();
      assert.equal(await d.len(), 0);
      assert.deepEqual(await d.copy(), new Map());
      assert.deepEqual(await (await manager.dict()).copy(), new Map(), "no entries: an empty dict");
    },
  );

  managed(
    "DictProxy keys are primitives compared by value, and values of every kind round-trip",
    async (manager) => {
      const d = await manager.dict<DictKey, unknown>();
      await d.set(1, "number one");
      await d.set("1", "string one");
      await d.set(1n, "bigint one");
      await d.set(true, "true");
      await d.set(null, "null");
      assert.equal(await d.len(), 5, "1, '1', 1n, true and null are five keys");
      assert.equal(await d.get(1), "number one");
      assert.equal(await d.get("1"), "string one");
      assert.equal(await d.get(1n), "bigint one");
      assert.equal(await d.get(true), "true");
      assert.equal(await d.get(null), "null");
      const value = {
        date: new Date(0),
        map: new Map([["k", new Set([1, 2])]]),
        big: 2n ** 70n,
        bytes: new Uint8Array([1, 2, 255]),
        nested: [1, [2, [3]], { deep: null }],
      };
      await d.set("value", value);
      assert.deepEqual(await d.get("value"), value);
    },
  );

  managed(
    "DictProxy.pop() without a fallback rejects with a RangeError for a missing key",
    async (manager) => {
      const d = await manager.dict<string, number>({ a: 1 });
      await rejectsWith(d.pop("missing"), RangeError, /missing/);
      assert.equal(await d.pop("missing", 0), 0, "a fallback is given back");
      assert.equal(await d.pop("missing", undefined), undefined, "even an undefined fallback");
      assert.equal(await d.pop("a"), 1);
      assert.equal(await d.has("a"), false, "pop removes the key");
      await rejectsWith(d.pop("a"), RangeError);
      assert.equal(await d.len(), 0);
    },
  );

  managed("DictProxy: an object key rejects with a TypeError and stores nothing", async (manager) => {
    const d = await manager.dict<DictKey, unknown>();
    const objectKey = { an: "object" } as unknown as string;
    await rejectsWith(d.set(objectKey, 1), TypeError, /key/);
    await rejectsWith(d.get(objectKey), TypeError);
    await rejectsWith(d.has([1] as unknown as string), TypeError);
    await rejectsWith(d.update([[{} as unknown as string, 1]]), TypeError);
    await rejectsWith(d.setdefault(undefined as unknown as string, 1), TypeError);
    assert.equal(await d.len(), 0);
  });

  managed(
    "ListProxy.get() and set() take negative indexes; out of range rejects with a RangeError",
    async (manager) => {
      const l = await manager.list(["a", "b", "c"]);
      assert.ok(l instanceof ListProxy);
      assert.equal(l.typeid, "list");
      assert.equal(await l.get(0), "a");
      assert.equal(await l.get(-1), "c");
      assert.equal(await l.get(-3), "a");
      await l.set(-2, "B");
      await l.set(0, "A");
      assert.deepEqual(await l.copy(), ["A", "B", "c"]);
      await rejectsWith(l.get(3), RangeError, /out of range/);
      await rejectsWith(l.get(-4), RangeError, /out of range/);
      await rejectsWith(l.set(3, "d"), RangeError);
      await rejectsWith(l.set(-4, "d"), RangeError);
      await rejectsWith(l.get(1.5), TypeError);
      assert.deepEqual(await l.copy(), ["A", "B", "c"], "failed sets change nothing");
      await rejectsWith((await manager.list()).get(0), RangeError);
    },
  );

  managed(
    "ListProxy: append, extend, insert, pop, count, len, slice, reverse, sort, clear and copy",
    async (manager) => {
      const l = await manager.list<number>([3]);
      await l.append(1);
      await l.extend([4, 1]);
      await l.extend(new Set([5]));
      assert.deepEqual(await l.copy(), [3, 1, 4, 1, 5]);
      await l.insert(0, 9);
      await l.insert(-1, 2);
      await l.insert(100, 6);
      await l.insert(-100, 0);
      assert.deepEqual(await l.copy(), [0, 9, 3, 1, 4, 1, 2, 5, 6]);
      assert.equal(await l.len(), 9);
      assert.equal(await l.count(1), 2);
      assert.equal(await l.count(7), 0);
      assert.deepEqual(await l.slice(1, 3), [9, 3]);
      assert.deepEqual(await l.slice(-2), [5, 6]);
      assert.deepEqual(await l.slice(), await l.copy());
      assert.equal(await l.pop(), 6);
      assert.equal(await l.pop(0), 0);
      assert.equal(await l.pop(-2), 2);
      await rejectsWith(l.pop(99), RangeError);
      assert.deepEqual(await l.copy(), [9, 3, 1, 4, 1, 5]);
      await l.reverse();
      assert.deepEqual(await l.copy(), [5, 1, 4, 1, 3, 9]);
      await l.append(10);
      await l.sort();
      assert.deepEqual(await l.copy(), [1, 1, 3, 4, 5, 9, 10], "numbers sort by value, not as text");
      await l.sort(true);
      assert.deepEqual(await l.copy(), [10, 9, 5, 4, 3, 1, 1]);
      const words = await manager.list(["pear", "apple", "fig"]);
      await words.sort();
      assert.deepEqual(await words.copy(), ["apple", "fig", "pear"]);
      await words.call("reverse");
      assert.deepEqual(await words.call("copy"), ["pear", "fig", "apple"], "call() reaches the same methods");
      await l.clear();
      assert.equal(await l.len(), 0);
      await rejectsWith(l.pop(), RangeError, /empty/);
    },
  );

  managed(
    "ListProxy.remove() and index() reject with a RangeError when the value is missing",
    async (manager) => {
      const l = await manager.list<unknown>(["a", { k: 1 }, "b", "a", [1, 2]]);
      assert.equal(await l.index("a"), 0);
      assert.equal(await l.index({ k: 1 }), 1, "plain data is found by value");
      assert.equal(await l.index([1, 2]), 4);
      assert.equal(await l.count("a"), 2);
      await l.remove("a");
      assert.deepEqual(await l.copy(), [{ k: 1 }, "b", "a", [1, 2]], "remove takes the first");
      await l.remove({ k: 1 });
      assert.deepEqual(await l.copy(), ["b", "a", [1, 2]]);
      await rejectsWith(l.index("nowhere"), RangeError, /nowhere/);
      await rejectsWith(l.remove("nowhere"), RangeError, /nowhere/);
      await rejectsWith(l.index({ k: 2 }), RangeError);
      assert.deepEqual(await l.copy(), ["b", "a", [1, 2]], "a failed remove removes nothing");
    },
  );

  managed(
    "NamespaceProxy: get, set, delete and copy; a missing attribute rejects with a RangeError",
    async (manager) => {
      const ns = await manager.namespace({ name: "Bob" });
      assert.ok(ns instanceof NamespaceProxy);
      assert.equal(ns.typeid, "Namespace");
      assert.equal(await ns.get("name"), "Bob");
      await ns.set("age", 42);
      await ns.set("name", "Alice");
      assert.deepEqual(await ns.copy(), { name: "Alice", age: 42 });
      await rejectsWith(ns.get("missing"), RangeError, /missing/);
      assert.equal(await ns.delete("age"), true);
      assert.equal(await ns.delete("age"), false);
      await rejectsWith(ns.get("age"), RangeError);
      await ns.set("x", 1);
      assert.equal(await ns.call("toString"), 'Namespace(name="Alice", x=1)', "Python's str(ns), sorted");
      assert.deepEqual(await (await manager.namespace()).copy(), {});
    },
  );

  managed("ValueProxy: get and set, for numbers and anything else", async (manager) => {
    const v = await manager.value("i", 1);
    assert.ok(v instanceof ValueProxy);
    assert.equal(v.typeid, "Value");
    assert.equal(await v.get(), 1);
    await v.set(2);
    assert.equal(await v.get(), 2);
    const d = await manager.value("d", 1.5);
    await d.set(2.25);
    assert.equal(await d.get(), 2.25);
    const o = await manager.value<{ n: number[] }>("O", { n: [1] });
    const copy = await o.get();
    copy.n.push(2);
    assert.deepEqual(await o.get(), { n: [1] }, "what get() gives is a copy");
    await o.set(copy);
    assert.deepEqual(await o.get(), { n: [1, 2] });
  });

  managed("ArrayProxy: get, set, len and copy, with the typecode's checks", async (manager) => {
    const a = await manager.array("i", [1, 2, 3]);
    assert.ok(a instanceof ArrayProxy);
    assert.equal(a.typeid, "Array");
    assert.equal(await a.len(), 3);
    assert.equal(await a.get(-1), 3);
    await a.set(0, 10);
    await a.set(-1, 30);
    assert.deepEqual(await a.copy(), [10, 2, 30]);
    await rejectsWith(a.set(1, 1.5), TypeError, /1\.5/);
    await rejectsWith(a.set(1, "2" as unknown as number), TypeError);
    await rejectsWith(a.get(3), RangeError);
    await rejectsWith(a.set(-4, 0), RangeError);
    assert.deepEqual(await a.copy(), [10, 2, 30], "failed sets change nothing");

    assert.deepEqual(await (await manager.array("d", 2)).copy(), [0, 0], "a length gives zeros");
    const big = await manager.array<bigint>("q", [1n, 2n ** 40n]);
    assert.deepEqual(await big.copy(), [1n, 2n ** 40n]);
    const chars = await manager.array<string>("c", "hi");
    assert.equal(await chars.get(1), "i");
    await chars.set(0, "H");
    assert.deepEqual(await chars.copy(), ["H", "i"]);
    await rejectsWith(chars.set(0, "too long"), TypeError);

    await rejectsWith(manager.array("z" as "i", 1), TypeError, /typecode/);
    await rejectsWith(manager.array("i", [1, 1.5]), TypeError);
    await rejectsWith(manager.array("i", -1), RangeError);
  });

  managed(
    "Manager.queue() and joinableQueue() give real queues that live in the manager's process",
    async (manager) => {
      const q = await manager.queue<number>();
      assert.ok(q instanceof Queue && !(q instanceof BaseProxy));
      assert.equal(q.maxsize, 0);
      await q.put(1);
      await q.put(2);
      assert.equal(await q.get({ timeout: PATIENCE_MS }), 1);
      assert.equal(await q.get({ timeout: PATIENCE_MS }), 2);

      const bounded = await manager.queue<string>(1);
      assert.equal(bounded.maxsize, 1);
      await bounded.put("a");
      await assert.rejects(bounded.put("b", { block: false }), QueueFullError);

      const jq = await manager.joinableQueue<string>();
      assert.ok(jq instanceof JoinableQueue);
      await jq.put("job");
      assert.equal(await jq.join({ timeout: 0 }), false, "a job is not done");
      assert.equal(await jq.get({ timeout: PATIENCE_MS }), "job");
      jq.taskDone();
      assert.equal(await jq.join({ timeout: PATIENCE_MS }), true);

      // A queue stored in a managed dict comes back as the same queue.
      const d = await manager.dict<string, Queue<number>>();
      await d.set("q", q);
      const back = await d.get("q");
      assert.ok(back instanceof Queue);
      await back.put(3);
      assert.equal(await q.get({ timeout: PATIENCE_MS }), 3);
    },
  );

  managed("A proxy stored in another proxy stays live when read back", async (manager) => {
    const inner = await manager.list<string>(["first"]);
    const d = await manager.dict<string, unknown>();
    await d.set("inner", inner);
    const back = await d.get("inner");
    assert.ok(back instanceof ListProxy, "a ListProxy comes back as a ListProxy");
    assert.equal(String(back), String(inner), "on the same object");
    await back.append("through the copy");
    assert.deepEqual(await inner.copy(), ["first", "through the copy"]);
    await inner.append("through the original");
    assert.deepEqual(await back.copy(), ["first", "through the copy", "through the original"]);

    // Deeper: a dict in a list in a namespace, and a proxy in a plain object.
    const deep = await manager.dict<string, number>({ n: 1 });
    const l = await manager.list<unknown>([deep]);
    const ns = await manager.namespace({ l, wrapped: { proxies: [deep] } });
    const lBack = await ns.get<ListProxy<unknown>>("l");
    const deepBack = await lBack.get(0) as DictProxy<string, number>;
    await deepBack.set("n", 2);
    assert.equal(await deep.get("n"), 2);
    const { proxies } = await ns.get<{ proxies: DictProxy<string, number>[] }>("wrapped");
    assert.ok(proxies[0] instanceof DictProxy);
    assert.equal(await proxies[0].get("n"), 2);
  });

  managed(
    "A plain nested object read back is a copy: mutating it changes nothing in the manager",
    async (manager) => {
      const l = await manager.list<{ a: number; tags: string[] }>([{ a: 1, tags: [] }]);
      const item = await l.get(0);
      item.a = 2;
      item.tags.push("changed");
      assert.deepEqual(
        await l.get(0),
        { a: 1, tags: [] },
        "Python's lost update: l[0]['a'] = 2 does nothing",
      );
      await l.set(0, item);
      assert.deepEqual(await l.get(0), { a: 2, tags: ["changed"] }, "reassigning the item is what stores it");

      const original = { nested: { n: 1 } };
      const d = await manager.dict<string, typeof original>({ x: original });
      original.nested.n = 100;
      assert.deepEqual(await d.get("x"), { nested: { n: 1 } }, "what goes in is copied too");
      const copy = await d.copy();
      copy.get("x")!.nested.n = 3;
      assert.deepEqual(await d.get("x"), { nested: { n: 1 } });
    },
  );

  managed(
    "Registered types: public methods are exposed by default, and call() runs them in the manager",
    async (manager) => {
      const c = await manager.create("Counter", 5);
      assert.ok(c instanceof BaseProxy);
      assert.ok(!(c instanceof DictProxy));
      assert.equal(c.typeid, "Counter");
      assert.match(String(c), /^<BaseProxy typeid "Counter" id \d+>$/);
      assert.equal(await c.call("total"), 5, "the factory got its arguments");
      assert.equal(await c.call("add", [2]), 7);
      assert.equal(await c.call("add"), 8, "no args: the method's defaults");
      for (const hidden of ["_secret", "constructor", "label", "hasOwnProperty", "toString", "nothing"]) {
        await rejectsWith(c.call(hidden), TypeError, /not exposed/);
      }
      assert.equal(await c.call("total"), 8);
      const other = await manager.create("Counter");
      assert.equal(await other.call("total"), 0, "each create makes a new object");
    },
  );

  managed("Registered types: an async method is answered when its promise settles", async (manager) => {
    const c = await manager.create("Counter");
    assert.equal(await c.call("addLater", [3]), 3);
    const all = await Promise.all(Array.from({ length: 20 }, () => c.call<number>("addLater", [1])));
    assert.deepEqual(all.toSorted((a, b) => a - b), Array.from({ length: 20 }, (_, i) => 4 + i));
    assert.equal(await c.call("total"), 23);
    await rejectsWith(c.call("failLater", ["async failure"]), RangeError, /async failure/);
    assert.equal(await c.call("total"), 23, "the manager serves on after a failure");
  });

  managed("Registered types: a referent's error keeps its built-in class", async (manager) => {
    const c = await manager.create("Counter");
    await rejectsWith(c.call("fail", ["range"]), RangeError, /out of range on purpose/);
    await rejectsWith(c.call("fail", ["type"]), TypeError, /wrong type on purpose/);
    await rejectsWith(c.call("fail", ["reference"]), ReferenceError, /no such thing on purpose/);
    await assert.rejects(c.call("fail", ["custom"]), (error) => {
      assert.ok(error instanceof Error);
      assert.equal((error as Error).name, "CustomError");
      assert.equal((error as Error).message, "custom on purpose");
      return true;
    });
    await rejectsWith(c.call("fail", ["other"]), Error, /plain other/);
    assert.equal(await c.call("add"), 1, "the object is still served");
  });

  managed(
    "A call whose arguments or answer cannot be copied rejects, and the manager serves on",
    async (manager) => {
      const uncopyable = (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /is a function/);
        return true;
      };
      const d = await manager.dict<string, unknown>();
      await assert.rejects(within(d.set("f", () => 1)), uncopyable);
      assert.equal(await d.has("f"), false);
      const c = await manager.create("Counter");
      await assert.rejects(within(c.call("add", [{ valueOf: () => 1 }])), uncopyable);
      await assert.rejects(within(c.call("uncopyable")), uncopyable);
      assert.equal(await c.call("add", [1]), 1, "the manager still serves");
    },
  );

  managed(
    "BaseProxy.call(): a timeout rejects with ProcessTimeoutError and a signal with its reason",
    async (manager) => {
      const g = await manager.create("Gate");
      const started = performance.now();
      await assert.rejects(g.call("wait", [], { timeout: 50 }), ProcessTimeoutError);
      assert.ok(performance.now() - started >= 45, "the call waited for its timeout");
      const controller = new AbortController();
      const reason = new Error("stop waiting");
      const aborted = g.call("wait", [], { signal: controller.signal });
      assert.equal(await g.call("whenWaiting", [2]), 2);
      controller.abort(reason);
      await assert.rejects(aborted, (error) => error === reason);
      const early = new Error("already aborted");
      await assert.rejects(
        g.call("waiting", [], { signal: AbortSignal.abort(early) }),
        (error) => error === early,
      );
      assert.equal(
        await g.call("waiting", [], { timeout: PATIENCE_MS }),
        2,
        "the manager still holds both waits",
      );
    },
  );

  managed(
    "A registered method that waits does not hold up other calls: the manager answers concurrently",
    async (manager) => {
      const g = await manager.create("Gate");
      const first = g.call("wait");
      const second = g.call("wait");
      assert.equal(await g.call("whenWaiting", [2]), 2, "a call waiting for the two waits is answered too");
      const d = await manager.dict({ a: 1 });
      assert.equal(await d.get("a"), 1, "other objects answer meanwhile");
      const c = await manager.create("Counter");
      assert.equal(await c.call("addLater", [3]), 3, "and other async methods");
      assert.equal(await g.call("waiting"), 2, "and the same object");
      assert.equal(await g.call("open", ["go"]), 2);
      assert.deepEqual(await within(Promise.all([first, second])), ["go", "go"]);
      assert.equal(await g.call("waiting"), 0);
    },
  );

  test(`[${backend} manager] Registered types: exposed limits what call() may run`, async () => {
    const manager = new Manager({ backend });
    manager.register("Limited", targets.counter, { module, exposed: ["add", "total", "label", "missing"] });
    manager.register("Tally", targets.tally, { module });
    manager.register("Later", targets.counterLater, { module });
    await using _ = await manager.start();
    const c = await manager.create("Limited", 1);
    assert.equal(await c.call("add", [1]), 2);
    assert.equal(await c.call("total"), 2);
    await rejectsWith(c.call("addLater", [1]), TypeError, /not exposed/);
    await rejectsWith(c.call("fail", ["range"]), TypeError, /not exposed/);
    await rejectsWith(c.call("label"), TypeError, /not exposed/);
    await rejectsWith(c.call("missing"), TypeError, /not exposed/);
    const t = await manager.create("Tally");
    assert.equal(await t.call("add", [2]), 2, "own function properties are public methods too");
    assert.equal(await t.call("total"), 2);
    const later = await manager.create("Later", 4);
    assert.equal(await later.call("add", [1]), 5, "an async factory's object is served");
  });

  test(`[${backend} manager] Manager.create(): an unknown type, a failing factory or one returning no object rejects; the manager serves on`, async () => {
    const manager = new Manager({ backend });
    manager.register("NotAnObject", targets.notAnObject, { module });
    manager.register("Broken", targets.brokenFactory, { module });
    manager.register("Elsewhere", targets.counter, {
      module: new URL("./testdata/targets.ts", import.meta.url),
    });
    await using _ = await manager.start();
    await rejectsWith(manager.create("Unknown"), TypeError, /Unknown/);
    await rejectsWith(manager.create("NotAnObject"), TypeError, /42/);
    await rejectsWith(manager.create("Broken"), RangeError, /factory failed on purpose/);
    await rejectsWith(manager.create("Elsewhere"), ReferenceError, /counter/);
    const d = await manager.dict({ still: "serving" });
    assert.equal(await d.get("still"), "serving");
  });

  test(`[${backend} manager] Manager: start() twice or after shutdown() rejects, register() after start() throws, shutdown() is idempotent`, async () => {
    const manager = new Manager({ backend });
    await manager.start();
    try {
      await assert.rejects(manager.start(), ProcessError);
      assert.throws(() => manager.register("Late", targets.counter, { module }), ProcessError);
      assert.equal(activeChildren().filter((p) => p.name.startsWith("SyncManager-")).length, 1);
    } finally {
      await manager.shutdown();
    }
    await manager.shutdown();
    await assert.rejects(manager.start(), ProcessError);
    await assert.rejects(manager.dict(), ProcessError);
    await assert.rejects(manager.create("Counter"), ProcessError);
    await manager.shutdown();
    assert.equal(activeChildren().length, 0);
  });

  test(`[${backend} manager] After shutdown() every proxy call rejects with ActorExitedError at once`, async () => {
    const manager = await startManager(backend);
    const proxies = {
      dict: await manager.dict({ a: 1 }),
      list: await manager.list([1]),
      ns: await manager.namespace({ x: 1 }),
      value: await manager.value("i", 1),
      array: await manager.array("i", 1),
      counter: await manager.create("Counter"),
    };
    await manager.shutdown();
    const started = performance.now();
    await assert.rejects(within(proxies.dict.get("a")), ActorExitedError);
    await assert.rejects(within(proxies.dict.set("b", 2)), ActorExitedError);
    await assert.rejects(within(proxies.list.append(2)), ActorExitedError);
    await assert.rejects(within(proxies.list.copy()), ActorExitedError);
    await assert.rejects(within(proxies.ns.get("x")), ActorExitedError);
    await assert.rejects(within(proxies.value.get()), ActorExitedError);
    await assert.rejects(within(proxies.array.len()), ActorExitedError);
    await assert.rejects(within(proxies.counter.call("total")), ActorExitedError);
    await assert.rejects(
      within(proxies.counter.call("total", [], { timeout: PATIENCE_MS })),
      ActorExitedError,
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed < PATIENCE_MS / 2, `the calls took ${Math.round(elapsed)} ms to reject`);
  });

  test(`[${backend} manager] Leaving an await using block shuts the manager down`, async () => {
    let d: DictProxy<string, number>;
    {
      await using manager = await startManager(backend);
      d = await manager.dict({ a: 1 });
      assert.equal(await d.get("a"), 1);
    }
    assert.equal(activeChildren().length, 0);
    await assert.rejects(within(d.get("a")), ActorExitedError);
  });

  test(`[${backend} manager] A call in flight rejects with ActorExitedError when the manager shuts down`, async () => {
    const manager = await startManager(backend);
    const g = await manager.create("Gate");
    // Checked from the start: the call rejects while shutdown() is still going on.
    const pending = assert.rejects(within(g.call("wait")), ActorExitedError);
    assert.equal(await g.call("whenWaiting", [1]), 1, "the call is in the manager");
    await manager.shutdown();
    await pending;
  });

  test(`[${backend} manager] Calls in flight reject with ActorExitedError when the manager's process is killed`, async () => {
    await using manager = await startManager(backend);
    const g = await manager.create("Gate");
    const d = await manager.dict({ a: 1 });
    const pending = [g.call("wait"), g.call("wait", [], { timeout: 10 * PATIENCE_MS })].map((call) =>
      assert.rejects(within(call), ActorExitedError)
    );
    assert.equal(await g.call("whenWaiting", [2]), 2, "both calls are in the manager");
    const process = managerProcess();
    process.kill();
    await Promise.all(pending);
    await assert.rejects(within(d.get("a")), ActorExitedError, "and every later call");
    await process.join(PATIENCE_MS);
    assert.notEqual(process.exitCode, null);
    await manager.shutdown();
  });

  // -------------------------------------------------------------------------
  // From children of both backends
  // -------------------------------------------------------------------------

  for (const childBackend of BACKENDS) {
    const label = `[${childBackend} child, ${backend} manager]`;

    test(`${label} a child uses every proxy type, sees the parent's writes, and the parent sees its own`, async () => {
      await using manager = await startManager(backend);
      const proxies: targets.EveryProxy = {
        dict: await manager.dict({ seed: "from the parent" }),
        list: await manager.list<unknown>(["parent's"]),
        ns: await manager.namespace({ x: 1 }),
        value: await manager.value("i", 7),
        array: await manager.array("i", [5, 6, 7]),
        queue: await manager.queue(),
        counter: await manager.create("Counter", 100),
      };
      await proxies.queue.put("for the child");
      const out = new Queue<Record<string, Record<string, unknown>>>();
      const p = new Process({
        target: targets.useEveryProxy,
        args: [proxies, out],
        module,
        backend: childBackend,
      });
      await p.start();
      const report = await out.get({ timeout: PATIENCE_MS });
      await joined(p);
      const me = p.name;
      const errorOf = (o: unknown) => (o as { error: Caught }).error;
      assert.equal(report.me, me);
      assert.deepEqual(report.classes, {
        dict: true,
        list: true,
        ns: true,
        value: true,
        array: true,
        counter: "Counter",
      });

      assert.equal(report.dict!.seed, "from the parent");
      assert.equal(report.dict!.fallback, "fallback");
      assert.equal(report.dict!.has, true);
      assert.equal(report.dict!.len, 2);
      assert.deepEqual(report.dict!.copy, new Map([["seed", "from the parent"], [me, "was here"]]));
      assert.equal(errorOf(report.dict!.pop).kind, "RangeError");
      assert.equal(errorOf(report.dict!.objectKey).kind, "TypeError");
      assert.equal(await proxies.dict.get(me), "was here");

      assert.equal(report.list!.last, "parent's");
      assert.equal(report.list!.len, 2);
      assert.equal(errorOf(report.list!.outOfRange).kind, "RangeError");
      assert.equal(errorOf(report.list!.index).kind, "RangeError");
      assert.deepEqual(await proxies.list.copy(), ["parent's", me]);

      assert.equal(report.ns!.x, 1);
      assert.equal(errorOf(report.ns!.missing).kind, "RangeError");
      assert.equal(await proxies.ns.get("child"), me);

      assert.deepEqual(report.value, { before: 7, set: undefined, after: 42 });
      assert.equal(await proxies.value.get(), 42);

      assert.equal(report.array!.first, 5);
      assert.equal(errorOf(report.array!.fraction).kind, "TypeError");
      assert.deepEqual(report.array!.copy, [5, 6, 99]);
      assert.deepEqual(await proxies.array.copy(), [5, 6, 99]);

      assert.equal(report.queue!.got, "for the child");
      assert.equal(await proxies.queue.get({ timeout: PATIENCE_MS }), `${me} put this`);

      assert.equal(report.counter!.add, 105);
      assert.equal(report.counter!.later, 115);
      assert.match(errorOf(report.counter!.secret).message, /not exposed/);
      assert.equal(errorOf(report.counter!.secret).kind, "TypeError");
      assert.equal(errorOf(report.counter!.fail).kind, "RangeError");
      assert.equal(report.counter!.where, managerProcess().name, "the child's calls run in the manager");
      assert.equal(await proxies.counter.call("total"), 115);
    });

    test(`${label} a proxy a child reads from a dict stays live`, async () => {
      await using manager = await startManager(backend);
      const inner = await manager.list<string>();
      const d = await manager.dict<string, unknown>({ inner });
      const out = new Queue<unknown>();
      const p = new Process({
        target: targets.appendToNested,
        args: [d, "inner", out],
        module,
        backend: childBackend,
      });
      await p.start();
      assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { isList: true, typeid: "list" });
      await joined(p);
      assert.deepEqual(await inner.copy(), [`from ${p.name}`]);
    });

    test(`${label} a call waiting in one process is answered by a call from another`, async () => {
      await using manager = await startManager(backend);
      const g = await manager.create("Gate");
      const out = new Queue<unknown>();

      // The child waits; the parent lets it through.
      const waiter = new Process({
        target: targets.waitAtGate,
        args: [g, out],
        module,
        backend: childBackend,
      });
      await waiter.start();
      assert.equal(await out.get({ timeout: PATIENCE_MS }), "waiting");
      assert.equal(await g.call("whenWaiting", [1], { timeout: PATIENCE_MS }), 1);
      assert.equal(await g.call("open", ["from the parent"]), 1);
      assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { value: "from the parent" });
      await joined(waiter);

      // The parent waits (twice); the child lets it through.
      const waits = [
        g.call("wait", [], { timeout: PATIENCE_MS }),
        g.call("wait", [], { timeout: PATIENCE_MS }),
      ];
      const opener = new Process({
        target: targets.openGate,
        args: [g, 2, "from the child", out],
        module,
        backend: childBackend,
      });
      await opener.start();
      assert.deepEqual(await Promise.all(waits), ["from the child", "from the child"]);
      assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { opened: 2 });
      await joined(opener);
    });

    test(`${label} a child's call in flight rejects with ActorExitedError when the manager shuts down`, async () => {
      const manager = await startManager(backend);
      try {
        const g = await manager.create("Gate");
        const out = new Queue<unknown>();
        const p = new Process({ target: targets.waitAtGate, args: [g, out], module, backend: childBackend });
        await p.start();
        assert.equal(await out.get({ timeout: PATIENCE_MS }), "waiting");
        assert.equal(
          await g.call("whenWaiting", [1], { timeout: PATIENCE_MS }),
          1,
          "the child's call is in the manager",
        );
        await manager.shutdown();
        const outcome = await out.get({ timeout: PATIENCE_MS }) as { error: Caught };
        await joined(p);
        assert.equal(outcome.error?.name, "ActorExitedError");
      } finally {
        await manager.shutdown();
      }
    });
  }

  test(`[${backend} manager] The seed-003 scenario: 10 processes of mixed backends append their names to a shared list and set dict[name]`, async () => {
    await using manager = await startManager(backend);
    const list = await manager.list<string>();
    const dict = await manager.dict<string, number>();
    const processes = Array.from({ length: 10 }, (_, n) =>
      new Process({
        target: targets.appendName,
        args: [list, dict, n],
        module,
        backend: BACKENDS[n % BACKENDS.length]!,
      }));
    await Promise.all(processes.map((p) => p.start()));
    for (const p of processes) await joined(p);
    const names = processes.map((p) => p.name);
    assert.equal(new Set(names).size, 10);
    assert.deepEqual((await list.copy()).toSorted(), names.toSorted());
    assert.equal(await dict.len(), 10);
    assert.deepEqual(await dict.copy(), new Map(names.map((name, n) => [name, n * n])));
    for (const [n, name] of names.entries()) assert.equal(await dict.get(name), n * n, name);
  });
}

// A worker manager's new queue is named in its answer before the root is told of its memory: the root and
// a worker child that got it must not fall back to relayed access with stale sizes (they once did, ~2 runs in 5).
test("[worker manager] a worker child sees the sizes of a manager's queue from its first line", async () => {
  await using manager = await startManager("worker");
  for (let run = 0; run < 5; run++) {
    const q = await manager.queue<number>(2);
    await q.put(1);
    await q.put(2);
    assert.deepEqual([q.qsize(), q.full()], [2, true], `run ${run}, the root`);
    const out = new Queue<unknown>();
    const p = new Process({ target: targets.reportSizes, args: [q, out], module, backend: "worker" });
    await p.start();
    assert.deepEqual(
      await out.get({ timeout: PATIENCE_MS }),
      { qsize: 2, full: true, empty: false },
      `run ${run}, the child`,
    );
    await joined(p);
    out.close();
  }
  // A queue made and filled in the manager's process reaches the root in an answer: its size is there at once.
  await using maker = new Manager({ backend: "worker" });
  maker.register("QueueMaker", targets.queueMaker, { module });
  await maker.start();
  const made = await maker.create("QueueMaker");
  for (let run = 0; run < 5; run++) {
    const q = await made.call("filled", [3], { timeout: PATIENCE_MS }) as Queue<number>;
    assert.deepEqual([q.qsize(), q.empty()], [3, false], `run ${run}, a queue in an answer`);
  }
});
