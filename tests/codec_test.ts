import assert from "node:assert/strict";
import { decode, encode } from "../src/wire/_codec.ts";
import { encodeFrame, FRAME_MAGIC, FrameError, FrameReader, WIRE_VERSION } from "../src/wire/_frame.ts";

const roundTrip = (value: unknown) => decode(encode(value));
const show = (value: unknown) => Deno.inspect(value, { depth: 20, sorted: true, showHidden: false });

Deno.test("the subprocess codec copies what structured clone copies", () => {
  const buffer = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer;
  const samples: unknown[] = [
    "text",
    "",
    0,
    -0,
    1.5,
    NaN,
    Infinity,
    -Infinity,
    true,
    null,
    undefined,
    10n ** 30n,
    [1, "two", [3, [4]], undefined, null],
    { a: 1, nested: { b: [true, false] }, "odd key": "x", $t: "not a tag" },
    new Date(1_700_000_000_000),
    new Date(NaN),
    /a+b/gi,
    new Map<unknown, unknown>([["k", 1], [{ o: 1 }, new Set([1, 2])]]),
    new Set(["a", 1, null]),
    buffer,
    new Uint8Array([1, 2, 3]),
    new Float64Array([1.5, -2.5]),
    new BigInt64Array([1n, -2n]),
    new Int16Array(buffer, 2, 2),
    new DataView(buffer, 1, 4),
    new RangeError("out", { cause: new Error("inner") }),
    Object(5),
    Object("boxed"),
    new (class Point {
      constructor(readonly x: number, readonly y: number) {}
    })(1, 2),
    ["A", "looks like a tag"],
    [1, , 3, ,],
    [, undefined],
    Object.assign([1, 2], { label: "own", "-1": "not an index" }),
    new Float16Array([1.5, -0, 65504, NaN]),
    new BigUint64Array([2n ** 64n - 1n]),
    new Uint8ClampedArray([0, 255]),
    new (class Bytes extends Uint8Array {})([1, 2]),
  ];
  for (const value of samples) {
    assert.equal(show(roundTrip(value)), show(structuredClone(value)), show(value));
  }
});

Deno.test("the subprocess codec keeps shared and cyclic references", () => {
  const shared = { n: 1 };
  const cyclic: Record<string, unknown> = { shared, again: shared };
  cyclic.self = cyclic;
  const list: unknown[] = [cyclic];
  list.push(list);
  const buffer = new ArrayBuffer(8);
  const copy = roundTrip({ cyclic, list, views: [new Uint8Array(buffer), new Uint16Array(buffer)] }) as {
    cyclic: Record<string, unknown>;
    list: unknown[];
    views: [Uint8Array, Uint16Array];
  };
  assert.equal(copy.cyclic.self, copy.cyclic);
  assert.equal(copy.cyclic.shared, copy.cyclic.again);
  assert.equal(copy.list[1], copy.list);
  assert.equal(copy.list[0], copy.cyclic);
  assert.equal(copy.views[0].buffer, copy.views[1].buffer);
});

Deno.test("the subprocess codec refuses what structured clone refuses, with a DataCloneError", () => {
  for (
    const value of [
      () => 1,
      Symbol("s"),
      { deep: [new WeakMap()] },
      Promise.resolve(),
      new SharedArrayBuffer(8),
    ]
  ) {
    assert.throws(
      () => encode(value),
      (error: Error) => error instanceof DOMException && error.name === "DataCloneError",
    );
  }
});

Deno.test("the subprocess codec rejects payloads it did not make", () => {
  const json = new TextEncoder().encode('["Z"]');
  const payload = new Uint8Array(4 + json.length);
  new DataView(payload.buffer).setUint32(0, json.length, true);
  payload.set(json, 4);
  assert.throws(() => decode(payload), SyntaxError);
  assert.throws(() => decode(crypto.getRandomValues(new Uint8Array(64))));
});

Deno.test("FrameReader reads frames split and joined anywhere, and refuses another wire version by name", () => {
  const frames = [encodeFrame({ a: 1 }), encodeFrame("two")];
  const bytes = new Uint8Array([...frames[0]!, ...frames[1]!]);
  const reader = new FrameReader();
  const got = [...reader.push(bytes.subarray(0, 5)), ...reader.push(bytes.subarray(5))];
  assert.deepEqual(got, [{ a: 1 }, "two"]);
  const other = encodeFrame("from a later troupe");
  new DataView(other.buffer).setUint32(0, (FRAME_MAGIC & 0xffffff) | ((WIRE_VERSION + 1) << 24), true);
  assert.throws(
    () => new FrameReader().push(other),
    (error: unknown) =>
      error instanceof FrameError &&
      error.message ===
        `Cannot read a frame of wire version ${
            WIRE_VERSION + 1
          }: this troupe speaks version ${WIRE_VERSION}; ` +
          "use the same troupe release on both ends",
  );
  assert.throws(() => new FrameReader().push(new Uint8Array(8).fill(7)), /not a troupe frame/);
});

Deno.test("the subprocess codec keeps holes, an array's own properties, and resizable buffers, as structured clone does", () => {
  const sparse: unknown[] = [];
  sparse[1_000_000] = "far";
  Object.assign(sparse, { label: "sparse" });
  const [copy, cloned] = [roundTrip(sparse), structuredClone(sparse)] as unknown[][];
  for (const array of [copy!, cloned!]) {
    assert.equal(array.length, 1_000_001);
    assert.deepEqual(Object.keys(array), ["1000000", "label"]);
  }
  assert.ok(encode(sparse).byteLength < 100, "a sparse array is written by its keys, not its length");

  const resizable = new ArrayBuffer(4, { maxByteLength: 16 });
  const view = new Uint16Array(resizable, 2, 1);
  const back = roundTrip({ resizable, view }) as { resizable: ArrayBuffer; view: Uint16Array };
  assert.deepEqual([back.resizable.resizable, back.resizable.maxByteLength], [true, 16]);
  assert.equal(back.view.buffer, back.resizable);
  back.resizable.resize(16);
  assert.equal(back.resizable.byteLength, 16);
});

Deno.test("the subprocess codec keeps an error's class name, own fields and AggregateError's errors", () => {
  class TaggedError extends Error {
    code = "E_TAGGED";
  }
  const tagged = Object.assign(new TaggedError("tagged", { cause: new TypeError("cause") }), {
    name: "TaggedError",
    details: { attempts: [1, 2] },
  });
  const copy = roundTrip(new AggregateError([tagged, "text"], "many")) as AggregateError;
  assert.ok(copy instanceof AggregateError);
  const [inner, text] = copy.errors as [Error & { code: string; details: unknown }, string];
  assert.deepEqual([inner.name, inner.message, inner.code, inner.details], [
    "TaggedError",
    "tagged",
    "E_TAGGED",
    { attempts: [1, 2] },
  ]);
  assert.ok(inner.cause instanceof TypeError);
  assert.equal(inner.stack, tagged.stack);
  assert.equal(text, "text");
});

Deno.test("the subprocess codec refuses a detached buffer and a view past its buffer's end, as structured clone does", () => {
  const detached = new ArrayBuffer(8);
  const viewOfDetached = new Uint8Array(detached);
  structuredClone(detached, { transfer: [detached] });
  const shrunk = new ArrayBuffer(8, { maxByteLength: 8 });
  const past = new Uint8Array(shrunk, 4, 4), pastView = new DataView(shrunk, 4, 4);
  shrunk.resize(2);
  for (const value of [detached, viewOfDetached, past, pastView]) {
    assert.throws(() => structuredClone(value), (error: Error) => error.name === "DataCloneError");
    assert.throws(() => encode(value), (error: Error) => error.name === "DataCloneError");
  }
});

Deno.test("the subprocess codec refuses arrays and errors it did not make", () => {
  const payloadOf = (tree: unknown) => {
    const json = new TextEncoder().encode(JSON.stringify(tree));
    const payload = new Uint8Array(4 + json.length);
    new DataView(payload.buffer).setUint32(0, json.length, true);
    payload.set(json, 4);
    return payload;
  };
  for (
    const tree of [
      ["a", -1],
      ["a", 2 ** 32],
      ["a", 1.5],
      ["a", 2, "length", 5],
      ["a", 2, 7, 1],
      ["E", 1, "message", null, false, null, null],
      ["E", "Error", "message", null, false, null, 5],
      ["E", "Error", "message", null, false, null, null, 3, 4],
      ["T", "Float128Array", ["B", 0, 0], 0, 0],
    ]
  ) {
    assert.throws(() => decode(payloadOf(tree)), SyntaxError, JSON.stringify(tree));
  }
  const made = decode(payloadOf(["E", "toString", "m", null, false, null, null])) as Error;
  assert.equal(Object.getPrototypeOf(made), Error.prototype, "a name is looked up as an own entry");
});

Deno.test("the subprocess codec sends an AggregateError's entry that cannot cross as its text, and keeps the others", () => {
  const callback = () => 1;
  const shared = { n: 1 };
  const copy = roundTrip([new AggregateError([callback, shared, new Error("e")], "many"), shared]) as [
    AggregateError,
    object,
  ];
  const [aggregate, again] = copy;
  assert.equal(aggregate.errors[0], String(callback));
  assert.equal(aggregate.errors[1], again, "an object met twice is one object again");
  assert.ok(aggregate.errors[2] instanceof Error);
});
