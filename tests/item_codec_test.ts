/**
 * The item codec on its own (`src/_item_codec.ts`): how a queue or pipe item
 * becomes bytes in (shared) memory and back. JSON when it carries the value
 * exactly, the structured-clone codec otherwise; either way, what comes out
 * is what went in.
 */

import assert from "node:assert/strict";
import {
  finishItem,
  maxEncodedBytes,
  prepare,
  type Prepared,
  prepareOrExplain,
  takeItem,
  writeItem,
} from "../src/memory/_item_codec.ts";
import { MAX_NESTING } from "../src/wire/_codec.ts";
import { Queue } from "../mod.ts";

/** Writes `prepared` at `at` in `memory`, as a ring does, and reads it back. */
function throughMemory(prepared: Prepared, memory: Uint8Array, at = 0): unknown {
  const written = writeItem(prepared, memory, at);
  assert.ok(
    written <= maxEncodedBytes(prepared),
    `${written} bytes written, at most ${maxEncodedBytes(prepared)}`,
  );
  return finishItem(takeItem(memory, at, written));
}

/** A value through the codec into ordinary and into shared memory, back out as a copy. */
function roundTrips(value: unknown): unknown[] {
  const prepared = prepare(value);
  const size = maxEncodedBytes(prepared) + 16;
  return [
    throughMemory(prepared, new Uint8Array(size)),
    throughMemory(prepared, new Uint8Array(new SharedArrayBuffer(size + 8)), 8),
  ];
}

/** An object nested `levels` deep. */
function nested(levels: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < levels; i++) value = { next: value };
  return value;
}

// Values JSON carries exactly: they take the fast path.
const JSON_EXACT: [string, unknown][] = [
  ["a string", "hello, 世界 👋"],
  ["an empty string", ""],
  ["a number", 42.5],
  ["a negative number", -7],
  ["the largest safe integer", Number.MAX_SAFE_INTEGER],
  ["true", true],
  ["false", false],
  ["null", null],
  ["an empty array", []],
  ["an empty object", {}],
  ["an array of data", [1, "two", null, [3], { four: 4 }]],
  ["a plain object", { a: 1, b: { c: [true, "d"] } }],
  ["keys JSON must escape", { 'quote"': "back\\slash", "new\nline": "\u0000\u001f" }],
  ["a long string", "x".repeat(10_000)],
  ["nesting 30 deep", nested(30)],
];

// Values JSON would change or refuse: they go through the structured-clone codec.
const codecOnly = (): [string, unknown][] => {
  const cyclic: Record<string, unknown> = { name: "cyclic" };
  cyclic.self = cyclic;
  const shared = { shared: true };
  const error = new RangeError("out of range", { cause: new Error("inner") });
  return [
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    ["-0", -0],
    ["-0 in an array", [-0]],
    ["undefined", undefined],
    ["undefined in an object", { missing: undefined }],
    ["a bigint", 12345678901234567890n],
    ["a Map", new Map<unknown, unknown>([[1, "one"], ["two", { 2: 2 }]])],
    ["a Set", new Set([1, "one", null])],
    ["a Date", new Date(Date.UTC(2024, 1, 29, 12))],
    ["a RegExp", /troupe/gi],
    ["a Uint8Array", new Uint8Array([1, 2, 255])],
    ["a Float64Array", new Float64Array([0.5, -0, NaN])],
    ["an ArrayBuffer", new Uint16Array([513, 65535]).buffer],
    ["a DataView", new DataView(new Uint8Array([9, 8, 7]).buffer)],
    ["an Error with a cause", error],
    ["a cycle", cyclic],
    ["an object met twice", { first: shared, second: shared }],
    ["nesting 40 deep", nested(40)],
    ["a boxed string", new String("boxed")],
  ];
};

Deno.test("prepare writes plain data as JSON, and anything JSON would change with the codec", () => {
  for (const [what, value] of JSON_EXACT) {
    const prepared = prepare(value);
    assert.equal(prepared.json, JSON.stringify(value), `${what} goes as JSON`);
  }
  for (const [what, value] of codecOnly()) {
    const prepared = prepare(value);
    assert.equal(prepared.json, undefined, `${what} does not go as JSON`);
    assert.ok(prepared.bytes instanceof Uint8Array, `${what} goes as codec bytes`);
    assert.equal(prepared.shared, false, `${what} holds nothing shareable`);
  }
});

Deno.test("plain data comes back equal, through ordinary and shared memory", () => {
  for (const [what, value] of JSON_EXACT) {
    for (const copy of roundTrips(value)) assert.deepStrictEqual(copy, value, what);
  }
});

Deno.test("what JSON would change comes back exactly", () => {
  for (const [what, value] of codecOnly()) {
    for (const copy of roundTrips(value)) {
      if (value instanceof Error) {
        assert.ok(copy instanceof RangeError, `${what}: its class`);
        assert.equal(copy.message, value.message);
        assert.equal((copy.cause as Error).message, "inner");
      } else if (value instanceof DataView) {
        assert.ok(copy instanceof DataView, what);
        assert.deepEqual([...new Uint8Array(copy.buffer)], [9, 8, 7]);
      } else {
        assert.deepStrictEqual(copy, value, what);
      }
    }
  }
});

Deno.test("the values JSON gets wrong keep their exact identity", () => {
  const [negativeZero] = roundTrips(-0);
  assert.ok(Object.is(negativeZero, -0), "-0 stays -0");
  const [nan] = roundTrips(NaN);
  assert.ok(Number.isNaN(nan));
  const [withUndefined] = roundTrips({ missing: undefined }) as object[];
  assert.ok(Object.hasOwn(withUndefined!, "missing"), "a key set to undefined is kept");

  const cyclic: Record<string, unknown> = { name: "cyclic" };
  cyclic.self = cyclic;
  const [copy] = roundTrips(cyclic) as Record<string, unknown>[];
  assert.notEqual(copy, cyclic);
  assert.equal(copy!.self, copy, "a cycle is a cycle again");

  const shared = { n: 1 };
  const [pair] = roundTrips({ first: shared, second: shared }) as { first: object; second: object }[];
  assert.equal(pair!.first, pair!.second, "an object met twice is one object again");

  const bytes = new Uint8Array([1, 2, 3]);
  const [views] = roundTrips({ whole: bytes, part: bytes.subarray(1) }) as {
    whole: Uint8Array;
    part: Uint8Array;
  }[];
  assert.equal(views!.whole.buffer, views!.part.buffer, "two views of one buffer share a buffer again");
});

Deno.test("an item holding a shareable object is marked so, and comes back as that object", async () => {
  const queue = new Queue<number>();
  try {
    const prepared = prepare({ reply: queue });
    assert.equal(prepared.json, undefined);
    assert.equal(prepared.shared, true);
    const [copy] = roundTrips({ reply: queue }) as { reply: Queue<number> }[];
    assert.ok(copy!.reply instanceof Queue);
    await copy!.reply.put(7);
    assert.equal(await queue.get({ timeout: 1_000 }), 7, "the copy is the same queue");
  } finally {
    queue.close();
  }
});

Deno.test("an object without a prototype goes as JSON and comes back an ordinary object, as a clone would", () => {
  const bare = Object.assign(Object.create(null), { bare: 1 });
  assert.equal(prepare(bare).json, '{"bare":1}');
  for (const copy of [...roundTrips(bare), structuredClone(bare)]) {
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.deepEqual({ ...copy }, { bare: 1 });
  }
});

Deno.test("maxEncodedBytes bounds the bytes written, for text of every UTF-8 width", () => {
  for (const text of ["ascii", "é", "€", "𝄞", "a\u0800b\uffff", "🙂".repeat(100), "\ud800 lone surrogate"]) {
    for (const value of [text, { text }, [text, -0]]) {
      const prepared = prepare(value);
      const memory = new Uint8Array(maxEncodedBytes(prepared));
      const written = writeItem(prepared, memory, 0);
      assert.ok(written <= memory.byteLength);
      const copy = finishItem(takeItem(memory, 0, written));
      assert.deepStrictEqual(copy, value);
    }
  }
});

Deno.test("items larger than the scratch space, up to past a megabyte, come back whole", () => {
  for (const length of [4095, 4096, 4097, 100_000, (1 << 20) + 1, 3 << 20]) {
    const text = "ab".repeat(length >> 1) + (length % 2 ? "c" : "");
    const [fromPlain, fromShared] = roundTrips({ text });
    assert.equal((fromPlain as { text: string }).text, text, `${length} characters`);
    assert.equal((fromShared as { text: string }).text, text, `${length} characters, shared`);
  }
  // A small item after a large one: the scratch space holds no stale bytes.
  assert.deepEqual(roundTrips({ small: 1 }), [{ small: 1 }, { small: 1 }]);
});

Deno.test("items written one after another at any offset are each read back alone", () => {
  const memory = new Uint8Array(new SharedArrayBuffer(1 << 16));
  const values = [1, "two", { three: 3 }, -0, new Map([[4, 4]]), [5], null];
  const entries: [number, number][] = [];
  let at = 3;
  for (const value of values) {
    const written = writeItem(prepare(value), memory, at);
    entries.push([at, written]);
    at += written + 1;
  }
  assert.deepStrictEqual(
    entries.map(([start, length]) => finishItem(takeItem(memory, start, length))),
    values,
  );
});

Deno.test("a value that cannot be copied is refused with the path to the part that cannot", () => {
  const refusals: [string, unknown, string, string, RegExp][] = [
    [
      "a function",
      { a: [1, { f: () => 1 }] },
      "item",
      "put",
      /^Cannot put item\.a\[1\]\.f is a function: an item /,
    ],
    ["a symbol", { s: Symbol("s") }, "message", "send", /^Cannot send message\.s is a symbol: a message /],
    ["a WeakMap", [new WeakMap()], "item", "put", /^Cannot put item\[0\] is a WeakMap/],
    ["a promise", { p: Promise.resolve() }, "item", "put", /^Cannot put item\.p is a Promise/],
    ["a Map's value", new Map([["k", () => 1]]), "item", "put", /^Cannot put item.*k.* is a function/],
    [
      "shared memory",
      { data: new Int32Array(new SharedArrayBuffer(8)) },
      "item",
      "put",
      /^Cannot put item\.data is a view of a SharedArrayBuffer: an item /,
    ],
    [
      "a SharedArrayBuffer",
      [new SharedArrayBuffer(8)],
      "message",
      "send",
      /^Cannot send message\[0\] is a SharedArrayBuffer/,
    ],
    [
      "nesting past the limit",
      nested(MAX_NESTING + 1),
      "item",
      "put",
      /^Cannot put item\.next\.next.*…\.next.* is nested more than 1000 levels deep/,
    ],
  ];
  for (const [what, value, noun, verb, message] of refusals) {
    assert.throws(
      () => prepare(value),
      (error) => error instanceof DOMException && error.name === "DataCloneError",
      what,
    );
    assert.throws(() => prepareOrExplain(value, noun, verb), (error) => {
      assert.ok(error instanceof TypeError, what);
      assert.match(error.message, message, what);
      assert.match(error.message, /so send data \(no functions, symbols, promises/);
      assert.ok(error.cause instanceof DOMException, `${what}: the clone's own error is the cause`);
      return true;
    });
  }
});

Deno.test("nesting up to the limit crosses, and a caller can lower the limit for its own wrapping", () => {
  const deep = nested(MAX_NESTING - 1);
  const [copy] = roundTrips(deep);
  let levels = 0;
  for (let at = copy as { next?: unknown }; typeof at === "object"; at = at.next as { next?: unknown }) {
    levels++;
  }
  assert.equal(levels, MAX_NESTING - 1);
  const wrapped = nested(50);
  assert.doesNotThrow(() => prepare(wrapped, 60));
  assert.throws(
    () => prepare(wrapped, 40),
    (error) => error instanceof DOMException && error.name === "DataCloneError",
  );
});

Deno.test("an array with holes or properties of its own goes by the codec and comes back as structured clone copies it", () => {
  const holes: unknown[] = [1, , 3];
  holes.length = 5;
  const named = Object.assign([1, 2], { label: "named" });
  for (const value of [holes, named, [[, 1]], { list: named }]) {
    assert.equal(prepare(value).json, undefined, Deno.inspect(value));
    const expected = Deno.inspect(structuredClone(value), { showHidden: true });
    for (const copy of roundTrips(value)) {
      assert.equal(Deno.inspect(copy, { showHidden: true }), expected);
    }
  }
});

Deno.test("a Float16Array and every other typed array is accepted by put and read back by get", async () => {
  const queue = new Queue<unknown>();
  const views = [
    new Float16Array([1.5, -0, 65504]),
    new Int8Array([-1]),
    new Uint8ClampedArray([255]),
    new BigInt64Array([-1n]),
    new BigUint64Array([1n]),
    new DataView(new Uint8Array([1, 2, 3]).buffer, 1),
  ];
  for (const view of views) await queue.put(view);
  for (const view of views) {
    const copy = await queue.get({ timeout: 1_000 });
    assert.equal(Deno.inspect(copy), Deno.inspect(view));
  }
  queue.close();
});
