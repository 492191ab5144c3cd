import assert from "node:assert/strict";
import { decode, encode } from "../src/wire/_codec.ts";
import { decodeError, encodeError } from "../src/wire/_error_codec.ts";

class CustomError extends Error {
  constructor(message: string, readonly code: string, readonly details: { retry: boolean }) {
    super(message, { cause: new RangeError("inner") });
    this.name = "CustomError";
  }
}

/** What crosses a process boundary: the encoded record after a structured clone. */
function roundTrip(error: unknown): Error {
  return decodeError(structuredClone(encodeError(error)));
}

Deno.test("encodeError() keeps a custom error's name, message, stack, cause and own fields", () => {
  const original = new CustomError("custom failure", "E_CUSTOM", { retry: true });
  const decoded = roundTrip(original) as Error & { code: string; details: { retry: boolean } };
  assert.equal(decoded.name, "CustomError");
  assert.equal(decoded.message, "custom failure");
  assert.equal(decoded.stack, original.stack);
  assert.equal(decoded.code, "E_CUSTOM");
  assert.deepEqual(decoded.details, { retry: true });
  assert.ok(decoded.cause instanceof RangeError);
  assert.equal((decoded.cause as Error).message, "inner");
  assert.ok(decoded instanceof Error);
});

Deno.test("decodeError() rebuilds built-in classes as themselves", () => {
  for (const Class of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
    const decoded = roundTrip(new Class("m"));
    assert.ok(decoded instanceof Class);
    assert.equal(decoded.name, Class.name);
    assert.equal(Object.keys(decoded).length, 0, "no stray enumerable fields");
  }
});

Deno.test("encodeError() keeps AggregateError.errors, which structured clone drops", () => {
  const decoded = roundTrip(
    new AggregateError([new TypeError("a"), new Error("b")], "both"),
  ) as AggregateError;
  assert.ok(decoded instanceof AggregateError);
  assert.deepEqual(decoded.errors.map((e: Error) => `${e.name}: ${e.message}`), ["TypeError: a", "Error: b"]);
});

Deno.test("encodeError() turns thrown non-errors and uncloneable fields into text", () => {
  assert.equal(roundTrip("just a string").message, "just a string");
  assert.equal(roundTrip(42).message, "42");
  const withFunction = Object.assign(new Error("f"), { callback: () => 1, plain: "kept" });
  const decoded = roundTrip(withFunction) as Error & { callback: unknown; plain: string };
  assert.equal(typeof decoded.callback, "string");
  assert.equal(decoded.plain, "kept");
});

Deno.test("encodeError() ends a cyclic cause chain", () => {
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  (a as { cause?: unknown }).cause = b;
  let decoded: unknown = roundTrip(a);
  let depth = 0;
  while (decoded instanceof Error && "cause" in decoded) {
    decoded = decoded.cause;
    depth++;
  }
  assert.ok(depth <= 10);
});

Deno.test("encodeError() keeps the entries of AggregateError.errors that are no errors as themselves", () => {
  const decoded = roundTrip(
    new AggregateError([new TypeError("a"), "b", { c: 3 }], "mixed"),
  ) as AggregateError;
  assert.ok(decoded.errors[0] instanceof TypeError);
  assert.deepEqual(decoded.errors.slice(1), ["b", { c: 3 }]);
});

/** The parts of an error that crossing keeps, to compare two copies of it. */
function parts(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  return {
    prototype: Object.getPrototypeOf(error),
    name: error.name,
    message: error.message,
    stack: error.stack,
    cause: "cause" in error ? parts(error.cause) : "(none)",
    errors: error instanceof AggregateError ? error.errors.map(parts) : "(none)",
    fields: Object.fromEntries(Object.entries(error)),
  };
}

Deno.test("one error encoding: the codec of queue items and frames rebuilds an error as encodeError() does", () => {
  const errors: unknown[] = [
    new CustomError("custom failure", "E_CUSTOM", { retry: true }),
    new AggregateError([new CustomError("inner", "E_INNER", { retry: false }), "not an error"], "many"),
    Object.assign(new TypeError("with an uncloneable field"), { callback: () => 1, plain: [1, 2] }),
    Object.assign(new Error("odd name"), { name: "TypeError" }),
    new Error("a cause that is no error", { cause: { reason: "text" } }),
    new Error("a cause that cannot cross", { cause: () => 2 }),
  ];
  for (const error of errors) {
    assert.deepStrictEqual(parts(decode(encode(error))), parts(roundTrip(error)), (error as Error).message);
  }
  // Beyond what the record can say: the codec keeps a cycle and a field's class.
  const cyclic = Object.assign(new Error("cyclic"), { when: new Date(0), seen: new Map([[1, 2]]) });
  cyclic.cause = cyclic;
  const copy = decode(encode(cyclic)) as typeof cyclic;
  assert.equal(copy.cause, copy);
  assert.deepEqual([copy.when, copy.seen], [new Date(0), new Map([[1, 2]])]);
});
