import assert from "node:assert/strict";
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
