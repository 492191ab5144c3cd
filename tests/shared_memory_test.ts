/**
 * Value, RawValue, SharedArray and RawArray: Python's shared ctypes from the
 * main isolate (typecodes, overflow, indexes, byte strings, locks), then
 * shared with worker children and a worker pool, and refused where they
 * would arrive as a copy (a subprocess, a queue, a pipe, a pool task).
 */

import assert from "node:assert/strict";
import {
  BoundedSemaphore,
  Event,
  Lock,
  Pipe,
  Pool,
  Process,
  ProcessError,
  Queue,
  RawArray,
  RawValue,
  RLock,
  Semaphore,
  SharedArray,
  SynchronizedBase,
  type Typecode,
  Value,
} from "../mod.ts";
import { liveProcesses, withLeakCheck } from "../src/testing.ts";
import { joined, PATIENCE_MS, started, within } from "./_helpers.ts";
import * as targets from "./testdata/sync_targets.ts";

const module = targets.MODULE;

const TYPECODES: readonly Typecode[] = ["b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d", "c"];
const BIGINT_CODES: readonly Typecode[] = ["l", "L", "q", "Q"];

/** What an element of `typecode` is before anything is written. */
function zeroOf(typecode: Typecode): unknown {
  return BIGINT_CODES.includes(typecode) ? 0n : typecode === "c" ? "\0" : 0;
}

/** The message every refusal to copy a shared-memory object starts with. */
function refusal(kind: string): RegExp {
  return new RegExp(`^Cannot send an? ${kind} to another OS process`);
}

// ---------------------------------------------------------------------------
// Value and RawValue
// ---------------------------------------------------------------------------

Deno.test("Value and RawValue of every typecode start at zero", () => {
  for (const typecode of TYPECODES) {
    for (const v of [new Value(typecode), new RawValue(typecode), new Value(typecode, undefined)]) {
      assert.equal(v.typecode, typecode);
      assert.equal(v.value, zeroOf(typecode), `${v.constructor.name}("${typecode}")`);
      assert.equal(v.getObj().length, 1);
    }
  }
});

Deno.test("Value holds what each typecode holds", () => {
  const cases: [Typecode, unknown, unknown][] = [
    ["b", -128, -128],
    ["b", 127, 127],
    ["B", 255, 255],
    ["h", -32768, -32768],
    ["H", 65535, 65535],
    ["i", -(2 ** 31), -(2 ** 31)],
    ["I", 2 ** 32 - 1, 2 ** 32 - 1],
    ["l", -(2n ** 63n), -(2n ** 63n)],
    ["L", 2n ** 64n - 1n, 2n ** 64n - 1n],
    ["q", 2n ** 63n - 1n, 2n ** 63n - 1n],
    ["Q", 2n ** 64n - 1n, 2n ** 64n - 1n],
    ["f", 0.1, Math.fround(0.1)],
    ["f", 1.5, 1.5],
    ["d", 0.1, 0.1],
    ["d", -Infinity, -Infinity],
    ["c", "x", "x"],
    ["c", "\xff", "\xff"],
    ["c", 65, "A"],
  ];
  for (const [typecode, given, expected] of cases) {
    assert.equal(new Value(typecode, given as never).value, expected, `Value("${typecode}", ${given})`);
    const raw = new RawValue(typecode);
    raw.value = given as never;
    assert.equal(raw.value, expected, `RawValue("${typecode}").value = ${given}`);
  }
  assert.ok(Number.isNaN(new Value("d", NaN).value));
});

Deno.test("l L q Q values are bigints, and take an integer number too", () => {
  for (const typecode of BIGINT_CODES) {
    const v = new Value(typecode, 5);
    assert.equal(typeof v.value, "bigint");
    assert.equal(v.value, 5n);
    v.value = 2n ** 40n;
    assert.equal(v.value, 2n ** 40n);
  }
  assert.equal(new Value("L", 2 ** 53).value, 2n ** 53n);
  assert.equal(typeof new Value("i", 5).value, "number");
});

Deno.test("Integer overflow wraps silently, as ctypes truncates", () => {
  const small = new Value("b", 127);
  small.value += 1;
  assert.equal(small.value, -128);
  assert.equal(new Value("i", 2 ** 40).value, 0);
  assert.equal(new Value("i", 2 ** 31).value, -(2 ** 31));
  assert.equal(new Value("B", 256).value, 0);
  assert.equal(new Value("B", -1).value, 255);
  assert.equal(new Value("h", 40_000).value, 40_000 - 65_536);
  assert.equal(new Value("H", -1).value, 65_535);
  assert.equal(new Value("I", -1).value, 2 ** 32 - 1);
  assert.equal(new RawValue("b", 300).value, 300 - 256);
  assert.equal(new Value("q", 2n ** 63n).value, -(2n ** 63n));
  assert.equal(new Value("Q", -1n).value, 2n ** 64n - 1n);
  assert.equal(new Value("L", 2n ** 64n + 3n).value, 3n);
  const counter = new RawValue("I", 2 ** 32 - 1);
  counter.value += 1;
  assert.equal(counter.value, 0);
});

Deno.test("A fraction into an integer typecode throws a TypeError, and changes nothing", () => {
  for (const typecode of ["b", "B", "h", "H", "i", "I", "l", "L", "q", "Q"] as const) {
    assert.throws(() => new Value(typecode, 1.5), TypeError, `Value("${typecode}", 1.5)`);
    const v = new Value(typecode, 3);
    assert.throws(() => v.value = 0.5 as never, { name: "TypeError", message: /in a "\w" element/ });
    assert.throws(() => v.value = NaN as never, TypeError);
    assert.throws(() => v.value = "1" as never, TypeError);
    assert.equal(v.value, zeroOf(typecode) === 0n ? 3n : 3, "the failed write changed nothing");
  }
  assert.throws(() => new Value("i", 1n as never), TypeError, "a bigint for a 32-bit code");
  assert.throws(() => new Value("i", 1.5), { message: /a fraction is not truncated/ });
  assert.throws(() => new Value("d", "1" as never), TypeError);
  assert.throws(() => new Value("d", 1n as never), TypeError);
});

Deno.test('A "c" value is one byte: anything else throws a TypeError', () => {
  for (const bad of ["", "ab", "€", 256, -1, 1.5, 65n, null]) {
    assert.throws(() => new Value("c", bad as never), TypeError, `Value("c", ${String(bad)})`);
  }
  const v = new RawValue("c", "a");
  assert.throws(() => v.value = "xy", TypeError);
  assert.equal(v.value, "a");
});

Deno.test("An unknown typecode throws a TypeError", () => {
  for (const typecode of ["x", "u", "", "int", "I ", undefined, 1]) {
    const code = typecode as Typecode;
    assert.throws(() => new Value(code), {
      name: "TypeError",
      message: /^Cannot create a Value with typecode/,
    });
    assert.throws(() => new RawValue(code), { name: "TypeError", message: /^Cannot create a RawValue/ });
    assert.throws(() => new SharedArray(code, 2), {
      name: "TypeError",
      message: /^Cannot create a SharedArray/,
    });
    assert.throws(() => new RawArray(code, 2), { name: "TypeError", message: /^Cannot create a RawArray/ });
  }
  assert.throws(() => new Value("x" as Typecode), { message: /use one of b B h H i I l L q Q f d c/ });
});

Deno.test("Value.getObj() is the shared typed array itself", () => {
  const v = new RawValue("i", 5);
  const cells = v.getObj();
  assert.ok(cells instanceof Int32Array);
  assert.ok(cells.buffer instanceof SharedArrayBuffer);
  assert.equal(Atomics.add(cells, 0, 1), 5);
  assert.equal(v.value, 6);
  assert.ok(new Value("q").getObj() instanceof BigInt64Array);
  assert.ok(new Value("Q").getObj() instanceof BigUint64Array);
  assert.ok(new Value("f").getObj() instanceof Float32Array);
  assert.ok(new Value("c").getObj() instanceof Uint8Array);
});

Deno.test("Value.toString() and RawValue.toString() show the typecode and value", () => {
  assert.equal(String(new Value("i", 5)), 'Value("i", 5)');
  assert.equal(String(new RawValue("q", 3)), 'RawValue("q", 3n)');
  assert.equal(String(new Value("c", "a")), 'Value("c", "a")');
  assert.equal(String(new RawValue("d", 0.5)), 'RawValue("d", 0.5)');
});

// ---------------------------------------------------------------------------
// SharedArray and RawArray
// ---------------------------------------------------------------------------

Deno.test("SharedArray and RawArray from a size are zero-filled", () => {
  for (const typecode of TYPECODES) {
    for (const arr of [new SharedArray(typecode, 3), new RawArray(typecode, 3)]) {
      assert.equal(arr.length, 3);
      assert.deepEqual([...arr], [zeroOf(typecode), zeroOf(typecode), zeroOf(typecode)], typecode);
    }
  }
  const empty = new SharedArray("i", 0);
  assert.equal(empty.length, 0);
  assert.deepEqual([...empty], []);
  assert.equal(new RawArray("c", 4).value, "", "a zero-filled byte string is empty");
});

Deno.test("SharedArray rejects a bad size with a RangeError and a non-iterable with a TypeError", () => {
  for (const size of [-1, 1.5, NaN, Infinity]) {
    assert.throws(() => new SharedArray("i", size), RangeError, `size ${size}`);
    assert.throws(() => new RawArray("i", size), RangeError, `size ${size}`);
  }
  for (const bad of [null, true, 1n, undefined]) {
    assert.throws(() => new SharedArray("i", bad as never), TypeError, `from ${String(bad)}`);
  }
});

Deno.test("SharedArray and RawArray from an iterable hold its items, checked and wrapped", () => {
  assert.deepEqual([...new SharedArray("i", [1, 2, 3])], [1, 2, 3]);
  assert.deepEqual([...new RawArray("d", new Set([0.5, 1.5]))], [0.5, 1.5]);
  function* squares() {
    for (let i = 1; i <= 4; i++) yield i * i;
  }
  assert.deepEqual([...new SharedArray("H", squares())], [1, 4, 9, 16]);
  assert.deepEqual([...new RawArray("q", [1n, 2, -3n])], [1n, 2n, -3n]);
  assert.deepEqual([...new SharedArray("b", [200, -129])], [200 - 256, 127]);
  assert.deepEqual([...new RawArray("c", new Uint8Array([104, 105]))], ["h", "i"]);
  assert.throws(() => new SharedArray("i", [1, 2.5]), TypeError);
  assert.throws(() => new SharedArray("i", "12" as never), TypeError, 'a string is only for "c"');
  assert.throws(() => new RawArray("c", ["ab"]), TypeError);
});

Deno.test('A "c" SharedArray from a string is its bytes', () => {
  const word = new SharedArray("c", "hello");
  assert.equal(word.length, 5);
  assert.equal(word.get(1), "e");
  assert.equal(word.value, "hello");
  assert.deepEqual(word.raw, new Uint8Array([104, 101, 108, 108, 111]));
  assert.deepEqual([...word], ["h", "e", "l", "l", "o"]);
  assert.equal(new RawArray("c", "").length, 0);
  assert.throws(() => new SharedArray("c", "€uro"), TypeError, "a character above 255");
});

Deno.test("get() and set() take negative indexes from the end", () => {
  const arr = new SharedArray("i", [10, 20, 30]);
  assert.equal(arr.get(0), 10);
  assert.equal(arr.get(-1), 30);
  assert.equal(arr.get(-3), 10);
  arr.set(-1, 33);
  arr.set(-3, 11);
  arr.set(1, 22);
  assert.deepEqual([...arr], [11, 22, 33]);
  const big = new RawArray("Q", 2);
  big.set(-2, 2n ** 64n - 1n);
  assert.equal(big.get(0), 2n ** 64n - 1n);
});

Deno.test("get() and set() out of range throw a RangeError and change nothing", () => {
  const arr = new RawArray("i", [1, 2, 3]);
  for (const index of [3, -4, 100, -100]) {
    assert.throws(() => arr.get(index), { name: "RangeError", message: /of an array of length 3/ });
    assert.throws(() => arr.set(index, 9), RangeError);
  }
  assert.throws(() => new SharedArray("i", 0).get(0), RangeError);
  assert.throws(() => arr.get(1.5), TypeError, "a fractional index");
  assert.throws(() => arr.set(0, 1.5), TypeError, "a fraction into an int code");
  assert.deepEqual([...arr], [1, 2, 3]);
});

Deno.test("slice() copies elements out, as Python's a[start:end]", () => {
  const arr = new SharedArray("i", [1, 2, 3, 4, 5]);
  assert.deepEqual(arr.slice(), [1, 2, 3, 4, 5]);
  assert.deepEqual(arr.slice(1, -1), [2, 3, 4]);
  assert.deepEqual(arr.slice(-2), [4, 5]);
  assert.deepEqual(arr.slice(3, 1), []);
  assert.deepEqual(arr.slice(10), []);
  const copy = arr.slice();
  copy[0] = 100;
  assert.equal(arr.get(0), 1, "a slice is a copy");
  assert.ok(Array.isArray(copy));
  assert.deepEqual(new RawArray("c", "abc").slice(1), ["b", "c"]);
  assert.deepEqual(new RawArray("l", [1n, 2n]).slice(-1), [2n]);
});

Deno.test("SharedArray is iterable, and getObj() is its shared typed array", () => {
  const arr = new SharedArray("d", [0.5, 1.5, 2.5]);
  const seen: number[] = [];
  for (const item of arr) seen.push(item);
  assert.deepEqual(seen, [0.5, 1.5, 2.5]);
  assert.deepEqual(Array.from(arr), seen);
  const cells = arr.getObj();
  assert.ok(cells instanceof Float64Array && cells.buffer instanceof SharedArrayBuffer);
  cells[1] = 9;
  assert.equal(arr.get(1), 9);
  assert.equal(String(new SharedArray("i", [1, 2])), 'SharedArray("i", [1, 2])');
  assert.equal(String(new RawArray("c", "hi")), 'RawArray("c", ["h", "i"])');
  assert.equal(String(new RawArray("q", [1n])), 'RawArray("q", [1n])');
});

Deno.test('A "c" array\'s value stops at the first NUL, raw is every byte', () => {
  const name = new SharedArray("c", 8);
  name.value = "troupe";
  assert.equal(name.value, "troupe");
  assert.deepEqual(name.raw, new Uint8Array([116, 114, 111, 117, 112, 101, 0, 0]));
  name.value = "ab";
  assert.equal(name.value, "ab", "a shorter value ends with a NUL");
  assert.deepEqual(name.raw, new Uint8Array([97, 98, 0, 117, 112, 101, 0, 0]));
  name.value = "12345678";
  assert.equal(name.value, "12345678", "a value that fills the array has no NUL");
  name.raw = "xy";
  assert.equal(name.value, "xy345678", "raw writes from the start, with no NUL");
  name.raw = new Uint8Array([65, 0, 66]);
  assert.equal(name.value, "A");
  const raw = name.raw;
  raw[0] = 90;
  assert.equal(name.get(0), "A", "raw is a copy");
});

Deno.test('A "c" array\'s value or raw longer than the array throws a RangeError and changes nothing', () => {
  const word = new RawArray("c", "hello");
  assert.throws(() => word.value = "too long", { name: "RangeError", message: /too long/ });
  assert.throws(() => word.raw = new Uint8Array(6), RangeError);
  assert.throws(() => word.raw = "sixsix", RangeError);
  assert.equal(word.value, "hello");
  assert.throws(() => word.value = "€", TypeError);
});

Deno.test('value and raw are only for "c" arrays: a TypeError otherwise', () => {
  const arr = new SharedArray("i", 2);
  const bytes = new RawArray("B", 2);
  assert.throws(() => arr.value, { name: "TypeError", message: /is for "c" arrays/ });
  assert.throws(() => arr.raw, TypeError);
  assert.throws(() => bytes.value = "a", TypeError);
  assert.throws(() => bytes.raw = new Uint8Array(1), TypeError);
});

Deno.test("SharedArray and RawArray index like a typed array: a[i] reads and writes the shared memory", () => {
  const a = new SharedArray("i", [1, -2, 3]);
  assert.equal(a[0], 1);
  assert.equal(a[2], 3);
  for (let i = 0; i < a.length; i++) a[i] = -a[i]!; // seed 002: a[i] = -a[i]
  assert.deepEqual([...a], [-1, 2, -3]);
  assert.equal(a.get(0), -1, "get() sees what an index wrote");
  a.set(-1, 30);
  assert.equal(a[2], 30, "an index sees what set() wrote");
  assert.equal(a.getObj()[1], 2, "getObj() views the same memory");
  a.getObj()[1] = 20;
  assert.equal(a[1], 20);
  assert.deepEqual(Object.keys(a).filter((key) => /^\d+$/.test(key)), ["0", "1", "2"]);
  const raw = new RawArray("d", 2);
  raw[1] = 0.5;
  assert.deepEqual([...raw], [0, 0.5]);
  assert.equal(raw.length, 2);
  const big = new RawArray("Q", [1n, 2n]);
  big[0] = big[0]! + 2n ** 63n;
  assert.equal(big[0], 2n ** 63n + 1n, "the 64-bit codes index as bigints");
  assert.deepEqual(Array.from(big), [2n ** 63n + 1n, 2n]);
});

Deno.test('A "c" array indexes as bytes (numbers), and iterates as one-byte strings', () => {
  const word = new SharedArray("c", "hello");
  assert.equal(word[1], 101, "as a Uint8Array (and Python 3's bytes) index");
  word[0] = "H".charCodeAt(0);
  assert.equal(word.value, "Hello");
  assert.deepEqual([...word], ["H", "e", "l", "l", "o"]);
  assert.equal(word.get(0), "H");
});

Deno.test("An index write is the typed array's: it wraps, truncates, and ignores an index out of range", () => {
  const arr = new RawArray("b", 2);
  arr[0] = 200;
  assert.equal(arr[0], 200 - 256, "wraps, as set() does");
  arr[1] = 1.9;
  assert.equal(arr[1], 1, "truncates, where set() throws a TypeError");
  assert.throws(() => arr.set(1, 1.9), TypeError);
  arr[5] = 9;
  arr[-1] = 9;
  assert.equal(arr[5], undefined, "out of range reads undefined, where get() throws a RangeError");
  assert.equal(arr[-1], undefined, "negative indexes are get()'s and set()'s");
  assert.equal(arr.length, 2);
  assert.deepEqual([...arr], [-56, 1], "nothing else changed");
  assert.deepEqual(Object.keys(arr), ["0", "1", "typecode"]);
});

Deno.test("A SharedArray's length cannot change, and it keeps its class and lock", () => {
  const arr = new SharedArray("i", [1, 2]);
  assert.throws(() => (arr as { length: number }).length = 5, TypeError);
  assert.equal(arr.length, 2);
  assert.ok(arr instanceof SharedArray && arr instanceof RawArray);
  assert.ok(arr.getLock() instanceof RLock);
  assert.ok(!Array.isArray(arr));
  assert.equal(Deno.inspect(arr), 'SharedArray("i", [ 1, 2 ])');
  assert.equal(Deno.inspect(new RawArray("c", "hi")), 'RawArray("c", [ "h", "i" ])');
});

// ---------------------------------------------------------------------------
// Locks of Value and SharedArray
// ---------------------------------------------------------------------------

Deno.test("getLock() is a new RLock by default, or with lock: true", () => {
  for (const shared of [new Value("i"), new SharedArray("i", 2), new Value("d", 0, { lock: true })]) {
    assert.ok(shared.getLock() instanceof RLock);
    assert.equal(shared.getLock(), shared.getLock());
  }
  assert.notEqual(new Value("i").getLock(), new Value("i").getLock(), "each value has its own");
});

Deno.test("getLock() is the Lock or RLock given", () => {
  const lock = new Lock();
  const a = new Value("i", 0, { lock });
  const b = new SharedArray("c", "x", { lock });
  assert.equal(a.getLock(), lock);
  assert.equal(b.getLock(), lock);
  const rlock = new RLock();
  assert.equal(new Value("q", 0n, { lock: rlock }).getLock(), rlock);
});

Deno.test("getLock() of a Value or SharedArray made with lock: false throws a ProcessError", () => {
  const v = new Value("i", 1, { lock: false });
  const arr = new SharedArray("i", 1, { lock: false });
  for (const shared of [v, arr]) {
    assert.throws(() => shared.getLock(), { name: "ProcessError", message: /lock: false/ });
    assert.throws(() => shared.acquire(), ProcessError);
    assert.throws(() => shared.release(), ProcessError);
    assert.throws(() => shared.hold(), ProcessError);
  }
  v.value = 2;
  assert.equal(v.value, 2, "it still holds a value");
  assert.ok(!("getLock" in new RawValue("i")), "a RawValue has no lock at all");
  assert.ok(!("getLock" in new RawArray("i", 1)), "nor a RawArray");
});

Deno.test("Value and SharedArray take one set of lock methods from SynchronizedBase, as Python's", () => {
  for (const name of ["getLock", "acquire", "release", "hold"] as const) {
    assert.equal(Value.prototype[name], SynchronizedBase.prototype[name], `Value.${name}`);
    assert.equal(SharedArray.prototype[name], SynchronizedBase.prototype[name], `SharedArray.${name}`);
  }
  for (const shared of [new Value("i"), new SharedArray("i", 1), new SharedArray("c", 1, { lock: false })]) {
    assert.ok(shared instanceof SynchronizedBase);
  }
  for (const raw of [new RawValue("i"), new RawArray("i", 1), {}, null, 1]) {
    assert.ok(!(raw instanceof SynchronizedBase), String(raw));
  }
  assert.ok(new Value("i") instanceof RawValue && new SharedArray("i", 1) instanceof RawArray);
  assert.throws(() => new Value("i", 0, { lock: false }).getLock(), {
    message: "Cannot get the lock of a Value made with lock: false: it has none",
  });
  assert.throws(() => new SharedArray("i", 0, { lock: false }).getLock(), {
    message: "Cannot get the lock of a SharedArray made with lock: false: it has none",
  });
});

Deno.test("A lock option that is not true, false, a Lock or an RLock throws a TypeError", () => {
  for (const lock of ["yes", 1, null, {}, { acquire() {}, release() {} }, new Semaphore(1), new Event()]) {
    assert.throws(
      () => new Value("i", 0, { lock: lock as never }),
      { name: "TypeError", message: /^Cannot create a Value with lock/ },
    );
    assert.throws(
      () => new SharedArray("i", 1, { lock: lock as never }),
      { name: "TypeError", message: /^Cannot create a SharedArray with lock/ },
    );
  }
});

Deno.test("Value.hold(), acquire() and release() work its lock", async () => {
  const lock = new Lock();
  const v = new Value("i", 0, { lock });
  {
    using _held = await v.hold();
    v.value += 1;
    assert.equal(String(lock), "Lock(owner=this process)");
    assert.equal(await v.acquire({ timeout: 0 }), false);
    await assert.rejects(v.hold({ timeout: 0 }), { name: "ProcessTimeoutError" });
  }
  assert.equal(String(lock), "Lock(owner=none)");
  assert.equal(await v.acquire(), true);
  v.release();
  assert.throws(() => v.release(), RangeError, "a Lock released too many times");
  // The default RLock re-enters.
  const arr = new SharedArray("i", 2);
  assert.equal(await arr.acquire(), true);
  {
    using _again = await arr.hold({ timeout: 0 });
    arr.set(0, 1);
  }
  arr.release();
  assert.equal(String(arr.getLock()), "RLock(none, 0)");
  assert.equal(v.value, 1);
});

// ---------------------------------------------------------------------------
// Shared with worker children and a worker pool
// ---------------------------------------------------------------------------

function test(name: string, fn: () => Promise<void>): void {
  Deno.test(`[worker] ${name}`, withLeakCheck(fn));
}

test("a child's writes to a Value, SharedArray and RawArray are seen by the parent", async () => {
  const small = new Value("b");
  const big = new Value("q");
  const unsigned = new Value("Q");
  const real = new RawValue("d");
  const numbers = new SharedArray("i", 3);
  const text = new SharedArray("c", 8);
  const raw = new RawArray("h", 2);
  const p = new Process({
    target: targets.writeShared,
    args: [small, big, unsigned, real, numbers, text, raw],
    module,
    backend: "worker",
  });
  await started(p);
  await joined(p);
  assert.equal(small.value, -7);
  assert.equal(big.value, -(2n ** 62n));
  assert.equal(unsigned.value, 2n ** 64n - 1n);
  assert.equal(real.value, 0.25);
  assert.deepEqual([...numbers], [10, 0, -30]);
  assert.equal(text.value, "child");
  assert.deepEqual(raw.slice(), [0, 1234]);
});

test("a child indexes a SharedArray and a RawArray: a[i] = -a[i] (seed 002), seen by the parent", async () => {
  const a = new SharedArray("i", [1, 2, 3, -4]);
  const big = new RawArray("q", [2n ** 40n, 5n]);
  const seen = new RawArray("i", 2);
  const p = new Process({ target: targets.negateByIndex, args: [a, big, seen], module, backend: "worker" });
  await started(p);
  await joined(p);
  assert.deepEqual([...a], [-1, -2, -3, 4]);
  assert.equal(a[3], 4);
  assert.deepEqual([...big], [2n ** 41n, -1n]);
  assert.deepEqual([...seen], [4, -2], "the child saw the length and iterated");
});

test("a child reads what the parent wrote, and two values made with one lock share it there", async () => {
  const lock = new Lock();
  const v = new Value("L", 2n ** 40n, { lock });
  const arr = new SharedArray("c", 8, { lock });
  arr.value = "parent";
  const out = new RawArray("d", 4);
  const p = new Process({ target: targets.readShared, args: [v, arr, out], module, backend: "worker" });
  await started(p);
  await joined(p);
  assert.deepEqual([...out], [2 ** 40, 1, 1, 1]);
  assert.equal(String(lock), "Lock(owner=none)", "the child released the lock");
});

test("no lost updates: three children each add 1 to a Value 5,000 times under hold()", async () => {
  const counter = new Value("i", 0);
  const times = 5_000;
  const children = [0, 1, 2].map(() =>
    new Process({ target: targets.increment, args: [counter, times], module, backend: "worker" })
  );
  await started(...children);
  for (const p of children) await joined(p);
  assert.equal(counter.value, 3 * times);
  assert.equal(String(counter.getLock()), "RLock(none, 0)");
});

test("no lost updates: two children and the parent add 1 to one SharedArray element under hold()", async () => {
  const arr = new SharedArray("i", [0, 7]);
  const times = 5_000;
  const children = [0, 1].map(() =>
    new Process({ target: targets.incrementElement, args: [arr, 0, times], module, backend: "worker" })
  );
  await started(...children);
  for (let i = 0; i < times; i++) {
    using _held = await arr.hold({ timeout: PATIENCE_MS });
    arr.set(0, arr.get(0) + 1);
  }
  for (const p of children) await joined(p);
  assert.deepEqual([...arr], [3 * times, 7]);
});

test("a Value in a worker Pool's initargs is shared by its workers", async () => {
  const counter = new Value("i", 0);
  const pool = new Pool({
    processes: 2,
    module,
    backend: "worker",
    initializer: targets.keepCounter,
    initargs: [counter],
  });
  try {
    const done = await within(Promise.all([0, 1, 2, 3].map(() => pool.apply(targets.bump, [1_000]))));
    assert.deepEqual(done, [1_000, 1_000, 1_000, 1_000]);
    assert.equal(counter.value, 4_000);
    counter.value = 42;
    assert.equal(await within(pool.apply(targets.counterValue)), 42, "a worker sees the parent's write");
    pool.close();
    await within(pool.join());
  } finally {
    await pool.terminate();
  }
});

// ---------------------------------------------------------------------------
// Refused: what would arrive as a copy
// ---------------------------------------------------------------------------

Deno.test(
  "[subprocess] a child given a Value or Lock in its args: start() throws the TypeError and leaves no child behind",
  withLeakCheck(() => {
    const shared: [string, object][] = [
      ["Value", new Value("i", 1)],
      ["RawValue", new RawValue("d")],
      ["SharedArray", new SharedArray("i", 2)],
      ["RawArray", new RawArray("c", "x")],
      ["Lock", new Lock()],
      ["RLock", new RLock()],
      ["Semaphore", new Semaphore(2)],
      ["BoundedSemaphore", new BoundedSemaphore(2)],
      ["Event", new Event()],
    ];
    const before = liveProcesses().length;
    for (const [kind, object] of shared) {
      for (const args of [[object], [1, { nested: [object] }]]) {
        const p = new Process({ target: targets.noop, args, module, backend: "subprocess" });
        // Thrown at once, as for any argument that cannot be sent (not a rejected promise).
        assert.throws(() => p.start(), {
          name: "TypeError",
          message: new RegExp(
            `^Cannot start ${p.name} with an? ${kind} in its args: it lives in shared memory`,
          ),
        }, kind);
        assert.equal(p.isAlive(), false);
        assert.equal(p.exitCode, null, "never started");
        assert.equal(liveProcesses().length, before, "no child behind");
      }
    }
  }),
);

Deno.test(
  "[subprocess] a Pool whose initargs hold a Value throws a TypeError and starts no worker",
  withLeakCheck(() => {
    const before = liveProcesses().length;
    for (const [kind, object] of [["Value", new Value("i")], ["Lock", new Lock()]] as const) {
      assert.throws(
        () =>
          new Pool({
            processes: 1,
            module,
            backend: "subprocess",
            initializer: targets.keepCounter,
            initargs: [{ deep: object }],
          }),
        {
          name: "TypeError",
          message: new RegExp(`^Pool: initargs hold an? ${kind}, which lives in shared memory`),
        },
      );
    }
    assert.equal(liveProcesses().length, before, "no worker behind");
  }),
);

Deno.test("Queue.put() of a Lock rejects with the TypeError and puts nothing", async () => {
  const q = new Queue<unknown>();
  const putting = q.put(new Lock());
  assert.ok(putting instanceof Promise, "put() returns a promise rather than throwing");
  await assert.rejects(putting, { name: "TypeError", message: refusal("Lock") });
  await assert.rejects(q.put({ deep: [new Value("i")] }), { name: "TypeError", message: refusal("Value") });
  await assert.rejects(q.putNowait(new Event()), { name: "TypeError", message: refusal("Event") });
  // A RawArray is a typed array too (it indexes as one), and is still refused as shared memory.
  await assert.rejects(q.put(new RawArray("i", 2)), { name: "TypeError", message: refusal("RawArray") });
  await assert.rejects(q.put([{ a: new SharedArray("c", "x") }]), {
    name: "TypeError",
    message: refusal("SharedArray"),
  });
  assert.equal(q.qsize(), 0);
  assert.ok(q.empty());
  await q.put("still works");
  assert.equal(await q.get({ timeout: PATIENCE_MS }), "still works");
});

Deno.test("Connection.send() of a SharedArray throws the TypeError", async () => {
  const [mine, theirs] = Pipe<unknown>();
  try {
    assert.throws(() => mine.send(new SharedArray("i", 1)), {
      name: "TypeError",
      message: refusal("SharedArray"),
    });
    assert.throws(() => mine.send([new Semaphore()]), { name: "TypeError", message: refusal("Semaphore") });
    mine.send("still works");
    assert.equal(await theirs.recv({ timeout: PATIENCE_MS }), "still works");
  } finally {
    mine.close();
    theirs.close();
  }
});

test("a pool task given an RLock rejects with the TypeError", async () => {
  const pool = new Pool({ processes: 1, module, backend: "worker" });
  try {
    await assert.rejects(
      within(pool.apply(targets.noop, [new RLock()])),
      { name: "TypeError", message: refusal("RLock") },
    );
    await assert.rejects(
      within(pool.map(targets.noop, [1, new Value("i")])),
      { name: "TypeError", message: refusal("Value") },
    );
    await assert.rejects(
      within(pool.apply(targets.noop, [new RawArray("d", 1)])),
      { name: "TypeError", message: refusal("RawArray") },
    );
    assert.equal(await within(pool.apply(targets.noop, [1])), undefined, "the pool still works");
    pool.close();
    await within(pool.join());
  } finally {
    await pool.terminate();
  }
});
