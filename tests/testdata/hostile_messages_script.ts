/**
 * A parent whose children attack it with messages the protocol does not
 * allow, on both backends. Each attacker must be killed (exit code -9) with
 * one report on stderr, while a sibling keeps working and new children
 * start. Prints what it saw as JSON on stdout.
 */

import { Process, Queue } from "../../mod.ts";
import { reduce } from "../../src/memory/_shared.ts";
import { runtime } from "../../src/runtime/_runtime.ts";
import { echoOne, MODULE, putOne, sendRaw, spawnForged } from "./hostile_targets.ts";

const okReply = { ok: true, value: null, stat: null };
const permissions = {
  read: true,
  write: true,
  net: true,
  env: true,
  run: true,
  ffi: true,
  sys: true,
  import: true,
};

/** A well-formed spec, as a child would send it to start one of its own children. */
function spec(parentId: number): Record<string, unknown> {
  return {
    host: { backend: "worker", permissions, sandboxed: false, memoryLimitMb: null },
    name: "Forged-1",
    identity: [1, 1],
    daemon: false,
    detached: false,
    entry: { kind: "none" },
    args: [],
    mainModule: MODULE,
    argv: [],
    parent: { name: "Process-1", pid: Deno.pid, id: parentId },
    mailboxes: { own: null, parent: null },
  };
}

/** Each attack: a name and the messages the child sends. */
const ATTACKS: Record<string, unknown[]> = {
  "null-call": [{ $troupe: "call", ref: 1, home: 0, call: null }],
  "wrong-types": [{ $troupe: "watch", ref: "1", target: {} }],
  "unknown-kind": [{ $troupe: "bogus" }],
  "huge-ref": [{ $troupe: "call", ref: 2 ** 64, home: 0, call: { op: "stat", ring: "x" } }],
  "broken-spec": [{
    $troupe: "spawn",
    ref: 1,
    spec: { ...spec(1), host: { backend: "worker", permissions: { read: 5 } } },
  }],
  "served-to-nobody": [{ $troupe: "served", to: 1e9, ref: 1, reply: okReply }],
  "forged-exit": [{ $troupe: "exit", code: -9 }],
  "bad-error": [{ $troupe: "failed", error: { name: "Error", message: 1, fields: {} } }],
  "bad-item": [{
    $troupe: "call",
    ref: 1,
    home: 0,
    call: { op: "put", ring: "r", item: { bytes: "x" }, timeoutMs: null, task: false },
  }],
  "bad-probe": [{ $troupe: "probed", n: 1, report: { heapUsed: "lots", rss: 0, tid: null, kids: [] } }],
  // Well-formed, but what they ask cannot be done: acting on them throws.
  "forged-parent": [{ $troupe: "spawn", ref: 1, spec: spec(0) }],
  "memory-elsewhere": [{ $troupe: "call", ref: 1, home: 1, call: { op: "buffer", ring: "x" } }],
  "deep": ["deep"],
};

const results: Record<string, number | null> = {};
const queue = new Queue<string>();
const inbox = new Queue<string>();
const ring = (reduce(queue) as unknown as { ring: { $troupeRing: string } }).ring.$troupeRing;
for (const backend of ["worker", "subprocess"] as const) {
  // A sibling that lives through the attacks, and answers after them.
  const sibling = new Process({ target: echoOne, args: [inbox, queue], module: MODULE, backend });
  await sibling.start();
  const attacks = Object.entries(ATTACKS);
  // A worker may have a ring's memory; a subprocess asks for what cannot cross to it.
  if (backend === "subprocess") {
    attacks.push(["memory-here", [{ $troupe: "call", ref: 1, home: 0, call: { op: "buffer", ring } }]]);
  }
  const attackers = attacks.map(([attack, messages]) =>
    new Process({
      name: `hostile-${backend}-${attack}`,
      target: sendRaw,
      args: [messages, queue],
      module: MODULE,
      backend,
    })
  );
  for (const attacker of attackers) await attacker.start();
  await Promise.all(attackers.map((attacker) => attacker.join()));
  for (const attacker of attackers) results[attacker.name] = attacker.exitCode;
  await inbox.put(`sibling ${backend}`);
  results[`sibling ${backend}`] = (await queue.get({ timeout: 10_000 })) === `sibling ${backend}` ? 0 : 1;
  await sibling.join();
  // And a child started after them works too.
  const next = new Process({ target: putOne, args: [queue, `next ${backend}`], module: MODULE, backend });
  await next.start();
  results[`next ${backend}`] = (await queue.get({ timeout: 10_000 })) === `next ${backend}` ? 0 : 1;
  await next.join();
}
// A child of a worker whose args hold a descriptor that is none of troupe's: when it exits, the root gives
// back what its args held, and must not choke on it.
const sent = new Queue<string>();
const forger = new Process({ target: spawnForged, args: [sent], module: MODULE, backend: "worker" });
await forger.start();
await sent.get({ timeout: 10_000 });
await forger.join();
const forged = runtime.hosting!.live().find((process) => process.name === "Forged-2");
if (forged) await runtime.hosting!.watch(forged.id);
results["forged descriptor"] = forged ? 0 : 1;
console.log(JSON.stringify(results));
