import assert from "node:assert/strict";
import { Pipe, Pool, Process, Queue } from "../mod.ts";
import { decode, encode, MAX_NESTING } from "../src/wire/_codec.ts";
import { findUncloneable } from "../src/wire/_clone_path.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, PATIENCE_MS } from "./_helpers.ts";
import { depthOf, MODULE, nested, poolDepth, putNested, reportDepth } from "./testdata/hostile_targets.ts";

/** What a refusal of a value nested 10,000 levels deep under `path` says: its path, shortened, and the limit. */
const tooDeep = (path: string) =>
  new RegExp(
    `${path.replace(/[[\].]/g, "\\$&")}\\.a\\.a\\.a(\\.a)?….a.a is nested more than 1000 levels deep`,
  );

Deno.test("the depth limit is 1,000 levels", () => {
  assert.equal(MAX_NESTING, 1000);
});

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`[${backend}] ${name}`, withLeakCheck(fn));

  test("start() refuses args nested 10,000 levels deep, naming the path and the limit", () => {
    const out = new Queue<number>();
    const p = new Process({ target: reportDepth, args: [out, nested(10_000)], module: MODULE, backend });
    assert.throws(() => p.start(), (error: Error) => {
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /^Cannot start Process-\d+ as /);
      assert.match(error.message, tooDeep("args[1]"));
      return true;
    });
    assert.equal(p.exitCode, null, "nothing started");
    out.close();
    return Promise.resolve();
  });

  test("args nested 1,000 levels deep reach the child whole", async () => {
    const out = new Queue<number>();
    const p = new Process({ target: reportDepth, args: [out, nested(1000)], module: MODULE, backend });
    await p.start();
    assert.equal(await out.get({ timeout: PATIENCE_MS }), 1000);
    await p.join(PATIENCE_MS);
    assert.equal(p.exitCode, 0);
    out.close();
  });

  test("a child's put of an item nested too deep throws there, naming the path and the limit", async () => {
    const out = new Queue<string | number>();
    const p = new Process({ target: putNested, args: [out, 10_000], module: MODULE, backend });
    await p.start();
    const said = await out.get({ timeout: PATIENCE_MS });
    assert.match(String(said), /^TypeError: Cannot put /);
    assert.match(String(said), tooDeep("item"));
    await p.join(PATIENCE_MS);
    assert.equal(p.exitCode, 0);
    out.close();
  });
}

Deno.test("Queue.put, Connection.send and Pool.apply refuse a value nested too deep, naming it", async () => {
  const queue = new Queue();
  await assert.rejects(queue.put(nested(10_000)), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^Cannot put /);
    assert.match(error.message, tooDeep("item"));
    return true;
  });
  // At the limit, an item crosses whole.
  await queue.put(nested(1000));
  assert.equal(depthOf(await queue.get()), 1000);
  queue.close();
  const [reader, writer] = Pipe(false);
  assert.throws(() => writer.send(nested(10_000)), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, tooDeep("message"));
    return true;
  });
  reader.close();
  writer.close();
  await using pool = new Pool({ processes: 1, module: MODULE });
  await assert.rejects(pool.apply(poolDepth, [nested(10_000)]), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, tooDeep("args[0]"));
    return true;
  });
  assert.equal(await pool.apply(poolDepth, [nested(1000)]), 1000);
});

Deno.test("the codec refuses to encode or decode past its limit, without overflowing the stack", () => {
  const limit = MAX_NESTING + 16;
  assert.equal(depthOf(decode(encode(nested(limit)))), limit);
  assert.throws(() => encode(nested(limit + 1)), (error: Error) => {
    assert.equal(error.name, "DataCloneError");
    assert.match(error.message, /nested more than 1016 levels deep/);
    return true;
  });
  assert.throws(() => encode(nested(MAX_NESTING + 1), MAX_NESTING), /nested more than 1000 levels deep/);
  // A payload made by hand, 100,000 levels deep: refused, not a stack overflow.
  const levels = 100_000;
  const json = new TextEncoder().encode(`${'["A",'.repeat(levels)}1${"]".repeat(levels)}`);
  const payload = new Uint8Array(4 + json.byteLength);
  new DataView(payload.buffer).setUint32(0, json.byteLength, true);
  payload.set(json, 4);
  assert.throws(() => decode(payload), SyntaxError);
  // Leaves at the deepest level are no level of their own.
  assert.equal(depthOf(decode(encode(nested(limit - 1)))), limit - 1);
  const leafy = nested(limit - 1) as { a: unknown };
  let at = leafy;
  while (typeof at.a === "object") at = at.a as { a: unknown };
  at.a = [undefined, -0, 1n].length;
  assert.ok(decode(encode(leafy)));
});

Deno.test("findUncloneable() finds a value nested too deep, and shortens its path", () => {
  assert.match(findUncloneable([nested(10_000)], "args")!, tooDeep("args[0]"));
  assert.equal(findUncloneable([nested(999)], "args"), undefined);
});
