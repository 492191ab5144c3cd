import assert from "node:assert/strict";
import { findUncloneable } from "../src/wire/_clone_path.ts";

Deno.test("findUncloneable() names the path of what structured clone refuses", () => {
  const cases: [unknown, string | undefined][] = [
    [[1, { onDone: () => {} }], "args[1].onDone is a function"],
    [[Symbol("s")], "args[0] is a symbol"],
    [[{ "odd key": new WeakMap() }], 'args[0]["odd key"] is a WeakMap'],
    [[new Map([["k", Promise.resolve()]])], 'args[0].get("k") is a Promise'],
    [[new Set([1, () => {}])], "args[0].values()[1] is a function"],
    [[{ deep: { er: [0, new WeakSet()] } }], "args[0].deep.er[1] is a WeakSet"],
    [[1, "two", new Date(), new Uint8Array(2), { a: [null] }], undefined],
    // An error crosses whatever its cause and fields hold (as their text): the culprit is elsewhere.
    [[new Error("e", { cause: () => {} }), { onDone: () => {} }], "args[1].onDone is a function"],
  ];
  for (const [value, expected] of cases) assert.equal(findUncloneable(value, "args"), expected);
});

Deno.test("findUncloneable() survives cycles", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(findUncloneable([cyclic], "args"), undefined);
  cyclic.fn = () => {};
  assert.equal(findUncloneable([cyclic], "args"), "args[0].fn is a function");
});
