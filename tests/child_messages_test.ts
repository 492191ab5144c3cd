import assert from "node:assert/strict";
import { decode, encode } from "../src/wire/_codec.ts";
import { decodeError, encodeError } from "../src/wire/_error_codec.ts";
import type { FromChild, LaunchSpec } from "../src/runtime/_protocol.ts";
import { checkFromChild, checkOutcome, checkReply } from "../src/runtime/_validate.ts";
import { Process, Queue } from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { PATIENCE_MS, runScript } from "./_helpers.ts";
import { forgeReplies, MODULE, serveQueue } from "./testdata/hostile_targets.ts";

/** What `checkFromChild` says of any value with a tag (as a child may send). */
const check = (message: unknown, backend: "worker" | "subprocess" = "worker") =>
  checkFromChild(message as FromChild, backend);

Deno.test("a child that breaks the protocol is killed with one report; its parent and siblings go on", async () => {
  const { code, stdout, stderr } = await runScript("hostile_messages_script.ts");
  assert.equal(code, 0, `the parent survives every attack:\n${stderr}`);
  const results = JSON.parse(stdout) as Record<string, number | null>;
  const expected: Record<string, string> = {
    "null-call": 'Cannot accept its "call" message as call is null, not an object',
    "wrong-types": 'Cannot accept its "watch" message as ref is "1", not an integer from 0',
    "unknown-kind": 'Cannot accept a message of kind "bogus"',
    "huge-ref": 'Cannot accept its "call" message as ref is 18446744073709552000, not an integer from 0',
    "broken-spec":
      'Cannot accept its "spawn" message as spec.host.permissions.read is 5, not true, false or a list of non-empty strings',
    "served-to-nobody": "Cannot pass on an answer to process 1000000000, which never existed",
    "forged-exit": '"exit"',
    "bad-error": 'Cannot accept its "failed" message as error.message is 1, not a string',
    "bad-item": 'Cannot accept its "call" message as call.item.bytes is "x", not a Uint8Array',
    "bad-probe":
      'Cannot accept its "probed" message as report.heapUsed is "lots", not a finite number from 0',
    "forged-parent": "as its spec names process 0 as the parent",
    "memory-elsewhere": "Cannot ask process 1 for a ring's memory: only the root gives it",
    "deep": "",
  };
  const deep = {
    worker: "Cannot read a message it posted (RangeError: could not deserialize value)",
    subprocess:
      "Cannot decode a frame on the channel: Cannot decode a value nested more than 1016 levels deep",
  };
  const memoryHere =
    "Cannot answer its call on a queue or pipe: DataCloneError: [object SharedArrayBuffer] cannot";
  for (const backend of ["worker", "subprocess"] as const) {
    const attacks = Object.entries(expected);
    if (backend === "subprocess") attacks.push(["memory-here", memoryHere]);
    for (const [attack, why] of attacks) {
      const name = `hostile-${backend}-${attack}`;
      assert.equal(results[name], -9, `${name} is killed`);
      const reports = stderr.split(`Process ${name}:\n`);
      assert.equal(reports.length, 2, `${name} is reported once:\n${stderr}`);
      const report = reports[1]!.split("\n")[0]!;
      assert.ok(report.endsWith("; killing it"), report);
      assert.ok(report.includes(why || deep[backend]), `${name}: ${report}`);
    }
    assert.equal(results[`sibling ${backend}`], 0, `a ${backend} sibling works on`);
    assert.equal(results[`next ${backend}`], 0, `a ${backend} child started after the attacks works`);
  }
  assert.doesNotMatch(stderr, /Uncaught|error: |at .*_remote\.ts/);
  // Besides the attackers, only the child with a forged descriptor reports (its own crash on reviving it).
  assert.match(stderr, /^Process Forged-2:\nTypeError: Cannot read properties of undefined/m);
  assert.equal(results["forged descriptor"], 0, "the root survives that child's exit");
  const reported = stderr.match(/^Process (?!Forged-2:)/gm)?.length;
  assert.equal(reported, 2 * Object.keys(expected).length + 1, "nothing else is reported");
});

const permissions = {
  read: true,
  write: ["/tmp"],
  net: false,
  env: false,
  run: false,
  ffi: false,
  sys: false,
  import: true,
};
const spec: LaunchSpec = {
  host: { backend: "subprocess", permissions, sandboxed: true, memoryLimitMb: 64 },
  name: "Process-1:1",
  identity: [1, 1],
  daemon: false,
  detached: false,
  entry: {
    kind: "subclass",
    module: "file:///m.ts",
    name: "Clock",
    source: "class Clock {}",
    fields: { n: 1 },
  },
  args: [1, { deep: [null] }],
  mainModule: "file:///main.ts",
  argv: ["--x"],
  parent: { name: "Process-1", pid: 10, id: 1 },
  mailboxes: { own: { $troupeShared: "queue" }, parent: null },
};
const error = {
  name: "AggregateError",
  message: "two",
  stack: "at x",
  cause: { name: "Error", message: "why", fields: {} },
  causeIsError: true,
  errors: [{ name: "TypeError", message: "one", fields: { code: 1 } }],
  fields: { code: "E" },
};
const stat = { size: 1, closed: false, unfinished: 0, senders: 1, receivers: 1 };

/** One good message of every kind, as children send them. */
const GOOD: FromChild[] = [
  { $troupe: "ready" },
  { $troupe: "started", tid: 1234 },
  { $troupe: "started", tid: null },
  { $troupe: "failed", error },
  { $troupe: "failed", error: { name: "Error", message: "m", cause: 5, causeIsError: false, fields: {} } },
  { $troupe: "exit", code: 255 },
  { $troupe: "spawn", ref: 1, spec },
  {
    $troupe: "spawn",
    ref: 2,
    spec: { ...spec, entry: { kind: "none" }, host: { ...spec.host, memoryLimitMb: null } },
  },
  { $troupe: "stop", ref: 1, how: "request" },
  {
    $troupe: "call",
    ref: 1,
    home: 0,
    call: { op: "put", ring: "r", item: { json: "1" }, timeoutMs: null, task: false },
  },
  {
    $troupe: "call",
    ref: 2,
    home: 3,
    call: {
      op: "put",
      ring: "r",
      item: { bytes: new Uint8Array(2), shared: true },
      timeoutMs: 0,
      task: true,
      quiet: true,
    },
  },
  { $troupe: "call", ref: 3, home: 0, call: { op: "get", ring: "r", timeoutMs: Infinity } },
  { $troupe: "call", ref: 4, home: 0, call: { op: "taskDone", ring: "r" } },
  { $troupe: "call", ref: 5, home: 0, call: { op: "copy", ring: "r", role: "sender", slot: -1 } },
  { $troupe: "call", ref: 6, home: 0, call: { op: "cancel", ref: 3 } },
  { $troupe: "alive", n: 7 },
  {
    $troupe: "probed",
    n: 8,
    report: {
      heapUsed: 1e6,
      rss: 2e6,
      tid: null,
      kids: [{ id: 2, mailbox: null, restarts: 0, tasksDone: 3 }],
    },
  },
  { $troupe: "ps", ref: 1, timeoutMs: 100 },
  { $troupe: "check", ref: 1, target: 2, timeoutMs: Infinity },
  { $troupe: "watch", ref: 1, target: 0 },
  { $troupe: "register", buffer: new SharedArrayBuffer(8) },
  { $troupe: "served", to: 0, ref: -3, reply: { ok: true, value: { item: "1" }, stat } },
  { $troupe: "served", to: 2, ref: 3, reply: { ok: true, value: { item: new Uint8Array(1) }, stat: null } },
  { $troupe: "served", to: 2, ref: 4, reply: { ok: false, error } },
];

Deno.test("checkFromChild() passes every well-formed message", () => {
  for (const message of GOOD) assert.equal(check(message), undefined, JSON.stringify(message));
});

Deno.test("checkFromChild() names what is wrong, with its path", () => {
  const cases: [unknown, string][] = [
    [{ $troupe: "started", tid: "1" }, 'its "started" message as tid is "1", not an integer from 0'],
    [{ $troupe: "exit", code: 256 }, 'its "exit" message as code is 256, not 0 to 255'],
    [
      { $troupe: "stop", ref: 1, how: "nicely" },
      'how is "nicely", not one of "terminate", "kill", "request"',
    ],
    [{ $troupe: "ps", ref: 1, timeoutMs: NaN }, "timeoutMs is NaN, not a duration in ms (a number from 0)"],
    [
      { $troupe: "spawn", ref: 1, spec: { ...spec, identity: [1, 0] } },
      "spec.identity[1] is 0, not an integer from 1",
    ],
    [
      { $troupe: "spawn", ref: 1, spec: { ...spec, entry: { kind: "eval" } } },
      'spec.entry.kind is "eval", not one of',
    ],
    [{ $troupe: "spawn", ref: 1, spec: { ...spec, argv: "x" } }, 'spec.argv is "x", not an array'],
    [
      { $troupe: "spawn", ref: 1, spec: { ...spec, mailboxes: null } },
      "spec.mailboxes is null, not an object",
    ],
    [
      {
        $troupe: "spawn",
        ref: 1,
        spec: { ...spec, host: { ...spec.host, permissions: { ...permissions, net: [""] } } },
      },
      "spec.host.permissions.net is an array, not true, false or a list of non-empty strings",
    ],
    [
      { $troupe: "spawn", ref: 1, spec: { ...spec, host: { ...spec.host, permissions: { read: true } } } },
      "spec.host.permissions.write is missing",
    ],
    [
      { $troupe: "call", ref: 1, home: -1, call: { op: "stat", ring: "r" } },
      "home is -1, not an integer from 0",
    ],
    [
      { $troupe: "call", ref: 1, home: 0, call: { op: "poke", ring: "r" } },
      'call.op is "poke", not one of "put"',
    ],
    [
      { $troupe: "call", ref: 1, home: 0, call: { op: "get", ring: 5, timeoutMs: 0 } },
      "call.ring is 5, not a string",
    ],
    [
      { $troupe: "call", ref: 1, home: 0, call: { op: "copy", ring: "r", role: "x", slot: 0 } },
      'call.role is "x"',
    ],
    [
      { $troupe: "failed", error: { ...error, causeIsError: true, cause: "x" } },
      'error.cause is "x", not an object',
    ],
    [
      { $troupe: "failed", error: { ...error, errors: [{}] } },
      "error.errors[0].name is missing, not a string",
    ],
    [{ $troupe: "failed", error: { ...error, fields: [] } }, "error.fields is an array, not an object"],
    [
      { $troupe: "probed", n: 1, report: { heapUsed: 1, rss: Infinity, tid: null, kids: [] } },
      "report.rss is Infinity",
    ],
    [
      { $troupe: "probed", n: 1, report: { heapUsed: 1, rss: 1, tid: null, kids: [{ id: "2" }] } },
      'report.kids[0].id is "2"',
    ],
    [{ $troupe: "register", buffer: new ArrayBuffer(8) }, "buffer is a ArrayBuffer, not a SharedArrayBuffer"],
    [{ $troupe: "served", to: 0, ref: 1, reply: { ok: "yes" } }, 'reply.ok is "yes", not a boolean'],
    [
      { $troupe: "served", to: 0, ref: 1, reply: { ok: true, value: 5, stat: null } },
      "reply.value is 5, not a ring result",
    ],
    [
      { $troupe: "served", to: 0, ref: 1, reply: { ok: true, value: null, stat: { size: "1" } } },
      'reply.stat.size is "1"',
    ],
    [
      { $troupe: "served", to: 0, ref: 1, reply: { ok: true, value: { item: 5 }, stat: null } },
      "reply.value.item is 5",
    ],
  ];
  for (const [message, expected] of cases) {
    const problem = check(message);
    assert.ok(problem?.includes(expected), `${JSON.stringify(message)}: ${problem}`);
  }
});

Deno.test("checkFromChild() survives what a clone can hold: cycles, deep causes, prototypes", () => {
  const cyclic: Record<string, unknown> = { name: "Error", message: "loop", causeIsError: true, fields: {} };
  cyclic.cause = cyclic;
  assert.match(check({ $troupe: "failed", error: cyclic })!, /more than 16 deep/);
  // Fields are read as the root reads them (inherited ones too): what is checked is what is used.
  const inherited = Object.create({ tid: 1 });
  inherited.$troupe = "started";
  assert.equal(check(inherited), undefined);
  assert.match(check({ $troupe: "started", tid: 2 ** 53 })!, /not an integer from 0/);
});

Deno.test("checkFromChild() refuses what only a worker sends, from a subprocess", () => {
  assert.equal(check({ $troupe: "exit", code: 0 }), undefined);
  assert.match(
    check({ $troupe: "exit", code: 0 }, "subprocess")!,
    /kind "exit": a subprocess child sends none/,
  );
  assert.match(check({ $troupe: "register", buffer: new SharedArrayBuffer(8) }, "subprocess")!, /"register"/);
});

Deno.test("checkReply() takes only an answer that fits the call", () => {
  const ok = (value: unknown) => ({ ok: true as const, value: value as null, stat: null });
  assert.equal(checkReply(ok("full"), "put", false), undefined);
  assert.equal(checkReply(ok({ item: "1" }), "get", false), undefined);
  assert.equal(checkReply(ok(true), "poll", false), undefined);
  assert.equal(checkReply(ok("closed"), "put", true), undefined);
  assert.equal(checkReply({ ok: false, error }, "get", false), undefined);
  assert.match(checkReply(ok(true), "get", false)!, /reply.value is true, not an answer to "get"/);
  assert.match(checkReply(ok(null), "put", true)!, /not an answer to "put"/);
  assert.match(
    checkReply(ok({ buffer: new SharedArrayBuffer(8) }), "stat", false)!,
    /not an answer to "stat"/,
  );
});

for (const backend of ["worker", "subprocess"] as const) {
  Deno.test(
    `[${backend}] a child cannot answer a call made to another process: forged replies are dropped`,
    withLeakCheck(async () => {
      const back = new Queue<Queue<string>>();
      const go = new Queue<string>();
      const done = new Queue<string>();
      const home = new Process({
        target: serveQueue,
        args: [back, go],
        module: MODULE,
        backend: "subprocess",
      });
      await home.start();
      const remote = await back.get({ timeout: PATIENCE_MS });
      // This root's call waits at `home`, which alone may answer it.
      const got = remote.get({ timeout: PATIENCE_MS });
      const forger = new Process({ target: forgeReplies, args: [0, 5_000, done], module: MODULE, backend });
      await forger.start();
      assert.equal(await done.get({ timeout: PATIENCE_MS }), "done");
      await go.put("go");
      assert.equal(await got, "real", "the answer comes from the process asked");
      await forger.join(PATIENCE_MS);
      assert.equal(forger.exitCode, 0, "a reply nobody awaits is dropped, not fatal");
      home.terminate();
      await home.join(PATIENCE_MS);
      for (const queue of [back, go, done, remote]) queue.close();
    }),
  );
}

Deno.test("an error crosses as a record that passes, and decodes safely whatever the record holds", () => {
  const odd = new Error("x");
  Object.assign(odd, { name: 42, message: { not: "text" } });
  const encoded = encodeError(odd);
  assert.equal(check({ $troupe: "failed", error: encoded }), undefined);
  assert.equal(encoded.name, "42");
  // A field named __proto__ (an own property after a clone) stays a field.
  const fields = JSON.parse('{"__proto__": {"polluted": true}, "code": "E"}');
  const decoded = decodeError({ name: "TypeError", message: "m", fields }) as
    & TypeError
    & Record<string, unknown>;
  assert.ok(decoded instanceof TypeError);
  assert.equal(decoded.code, "E");
  assert.equal(decoded.polluted, undefined);
  // A cause chain deeper than any encoding makes is cut, not followed.
  let chain: Record<string, unknown> = { name: "Error", message: "0", fields: {} };
  for (let i = 1; i < 100; i++) {
    chain = { name: "Error", message: `${i}`, cause: chain, causeIsError: true, fields: {} };
  }
  let depth = 0;
  for (let at: unknown = decodeError(chain as never); at instanceof Error; at = at.cause) depth++;
  assert.ok(depth <= 9, `${depth} levels`);
});

Deno.test("a key named __proto__ crosses the codec as an own field, as structured clone keeps it", () => {
  const sent = JSON.parse('{"__proto__": {"tid": 1}, "n": 1}');
  const got = decode(encode(sent)) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
  assert.ok(Object.hasOwn(got, "__proto__"));
  assert.deepEqual(Object.keys(got), ["__proto__", "n"]);
  assert.equal(got.tid, undefined, "nothing is inherited from it");
});

Deno.test("a pool worker that sends back what is no outcome is killed with one report; the pool goes on", async () => {
  const { code, stdout, stderr } = await runScript("hostile_pool_script.ts");
  assert.equal(code, 0, `the pool's process survives:\n${stderr}`);
  const { sabotaged, after } = JSON.parse(stdout);
  assert.match(
    sabotaged,
    /^WorkerCrashedError: Worker PoolWorker-\d+ died \(exit code -9\) while running sabotage\(\)/,
  );
  assert.equal(after, 3, "the pool runs the next task");
  assert.match(
    stderr,
    /^Process PoolWorker-\d+:\nCannot accept its outcome as it is "garbage", not \[id, ok, value\]; killing it\n$/,
  );
});

Deno.test("checkOutcome() takes a pool worker's outcomes in order, and nothing else", () => {
  const error = { name: "Error", message: "m", fields: {} };
  assert.equal(checkOutcome([0, 1, null], undefined), undefined, "ready");
  assert.equal(checkOutcome([0, 0, error], undefined), undefined, "its initializer failed");
  assert.equal(checkOutcome([0, 2, 3], 5), undefined, "a confirmation");
  assert.equal(checkOutcome([5, 1, { any: "value" }], 5), undefined);
  assert.equal(checkOutcome([5, 0, error], 5), undefined);
  assert.match(checkOutcome([6, 1, 1], 5)!, /for task 6: the task it holds next is 5/);
  assert.match(checkOutcome([1, 1, 1], undefined)!, /the task it holds next is none/);
  assert.match(checkOutcome([5, 0, { name: 1 }], 5)!, /the error.name is 1, not a string/);
  assert.match(checkOutcome([5, 3, 1], 5)!, /its ok is 3, not 0, 1 or 2/);
  assert.match(checkOutcome([-1, 1, 1], 5)!, /the task id is -1/);
  assert.match(checkOutcome([0, 2, "x"], 5)!, /confirmation as the count is "x"/);
  assert.match(checkOutcome({ 0: 5 }, 5)!, /it is an object, not \[id, ok, value\]/);
});

Deno.test("checkFromChild() refuses a permission troupe does not know of in a spawn", () => {
  const wider = { ...spec, host: { ...spec.host, permissions: { ...permissions, hrtime: true } } };
  assert.match(
    check({ $troupe: "spawn", ref: 1, spec: wider })!,
    /spec.host.permissions\["hrtime"\] is there, but is not a permission/,
  );
});
