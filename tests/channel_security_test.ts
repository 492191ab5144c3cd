/**
 * Attacks on the subprocess channel and on the listeners that accept
 * connections before they prove anything (issue 22, items 2 and 4): any
 * local user can read a child's command line and connect to a loopback port.
 */

import assert from "node:assert/strict";
import { Manager, Process } from "../mod.ts";
import {
  acceptChild,
  authenticateServer,
  CHANNEL_KEY_BYTES,
  greetParent,
  keyBytes,
  toHex,
} from "../src/wire/_auth.ts";
import { entryUrl } from "../src/runtime/_entry.ts";
import { encodeFrame, FrameError, FrameReader } from "../src/wire/_frame.ts";
import { switchboardLimits, switchboardPort } from "../src/runtime/_host_subprocess.ts";
import { TAG } from "../src/runtime/_protocol.ts";
import { AuthenticationError } from "../src/core/errors.ts";
import { withLeakCheck } from "../src/testing.ts";
import { PATIENCE_MS, reportFile, within } from "./_helpers.ts";
import * as channelTargets from "./testdata/channel_targets.ts";
import * as targets from "./testdata/targets.ts";

const module = targets.MODULE;
const backend = "subprocess";
const test = (name: string, fn: () => Promise<void>) => Deno.test(`[subprocess] ${name}`, withLeakCheck(fn));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A command line as one text, with the `data:` entry URL decoded (it nests one `data:` URL in another). */
function readCommandLine(pid: number): string {
  let text = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  for (let decoded = ""; decoded !== text;) {
    decoded = text;
    try {
      text = decodeURIComponent(text);
    } catch {
      break;
    }
  }
  return text;
}

/** The `channel` of the preamble in a child's command line: what an intruder learns from it. */
function channelInCommandLine(pid: number): Record<string, unknown> {
  const found = readCommandLine(pid).match(/"channel":(\{[^{}]*\})/);
  assert.ok(found, "the entry URL holds the preamble's channel");
  return JSON.parse(found[1]!);
}

/** A handshake message as `_auth.ts` frames it: a 4-byte big-endian length, then the bytes. */
function handshakeMessage(bytes: Uint8Array): Uint8Array {
  const message = new Uint8Array(4 + bytes.byteLength);
  new DataView(message.buffer).setUint32(0, bytes.byteLength);
  message.set(bytes, 4);
  return message;
}

async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length;) {
    const n = await conn.read(bytes.subarray(at));
    if (n === null) throw new Error(`the peer closed the connection after ${at} of ${length} bytes`);
    at += n;
  }
  return bytes;
}

async function readHandshakeMessage(conn: Deno.Conn): Promise<Uint8Array> {
  const length = new DataView((await readExactly(conn, 4)).buffer).getUint32(0);
  return readExactly(conn, length);
}

/** Resolves once the peer has closed `conn` (end-of-file or reset), with every byte it sent before. */
async function untilClosed(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: number[] = [];
  const buffer = new Uint8Array(4096);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      chunks.push(...buffer.subarray(0, n));
    }
  } catch {
    // Reset: closed too.
  }
  return Uint8Array.from(chunks);
}

/** The first frame the peer sends on `conn`, or null if it closes the connection first. */
async function firstFrame(conn: Deno.Conn): Promise<unknown> {
  const reader = new FrameReader();
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return null;
      const messages = reader.push(buffer.subarray(0, n));
      if (messages.length > 0) return messages[0];
    }
  } catch (error) {
    if (error instanceof FrameError) return `not a frame: ${error.message}`;
    return null;
  }
}

function closeAll(conns: readonly Deno.Conn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // Closed by the peer's side already.
    }
  }
}

/** Resolves once `count` of `events` have resolved. */
function atLeast(events: readonly Promise<unknown>[], count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    if (count <= 0) resolve();
    for (const event of events) event.then(() => ++seen === count && resolve());
  });
}

/** Opens `count` connections that say nothing; those refused (the listener's program died) are left out. */
async function connectSilently(port: number, count: number): Promise<Deno.TcpConn[]> {
  const opened = await Promise.allSettled(
    Array.from({ length: count }, () => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  return opened.flatMap((result) => result.status === "fulfilled" ? [result.value] : []);
}

// ---- item 2: the channel's secret is not in argv, and both ends prove they know it --------------------

/** The pids of this program's own child processes. */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      // The ppid is the second field after the command name, which ends at the last ")".
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === Deno.pid) {
        pids.push(Number(entry.name));
      }
    } catch {
      // Gone in the meantime.
    }
  }
  return pids;
}

test("no command line or environment holds a secret: not a child's channel key, not a Manager's authkey", async () => {
  const authkey = "the manager's authkey, in a test";
  // A subprocess manager is given its key too, and a child with a proxy holds it.
  await using manager = await new Manager({ authkey, backend }).start();
  const dict = await manager.dict({ a: 1 });
  const p = new Process({
    target: channelTargets.holdForever,
    args: [dict],
    module: channelTargets.MODULE,
    backend,
  });
  await p.start();
  try {
    // The preamble names the port and which child this is, and nothing that proves it.
    assert.deepEqual(Object.keys(channelInCommandLine(p.pid!)).sort(), ["id", "port"]);
    const parents = new Set(Object.entries(Deno.env.toObject()).map(([name, value]) => `${name}=${value}`));
    const pids = childPids();
    assert.ok(pids.includes(p.pid!) && pids.length >= 2, "the child and the manager's process are seen");
    for (const pid of pids) {
      const commandLine = readCommandLine(pid);
      const environment = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").filter((entry) => entry);
      assert.doesNotMatch(commandLine, /token/i);
      for (const text of [commandLine, ...environment]) {
        assert.ok(!text.includes(authkey), "the authkey is not in argv or the environment");
        assert.ok(!text.includes(toHex(keyBytes(authkey))), "nor is it in hex");
      }
      // troupe adds nothing to a child's environment: it is the parent's.
      assert.deepEqual(environment.filter((entry) => !parents.has(entry)), []);
    }
  } finally {
    p.terminate();
    await p.join();
  }
});

test("a child's code finds its stdin empty: the key was read from it before the code ran", async () => {
  await using report = await reportFile();
  const p = new Process({
    target: channelTargets.readAllStdin,
    args: [report.path],
    module: channelTargets.MODULE,
    backend,
  });
  await p.start();
  await p.join(PATIENCE_MS);
  assert.equal(p.exitCode, 0);
  assert.deepEqual(await report.read(), { first: "", again: null });
});

test("an intruder that reads a child's command line and connects first gets nothing, and the child still starts", async () => {
  const p = new Process({ target: targets.noop, module, backend });
  const started = p.start();
  // Hold the child before it connects, so the intruder is first. Its pid exists a moment before it
  // execs deno: wait for its command line without yielding, which leaves it no time to connect.
  const pid = p.pid!;
  const deadline = Date.now() + PATIENCE_MS;
  while (!Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("data:")) {
    if (Date.now() > deadline) throw new Error(`Cannot see ${p.name} exec deno in ${PATIENCE_MS} ms`);
  }
  Deno.kill(pid, "SIGSTOP");
  try {
    const channel = channelInCommandLine(pid);
    const port = switchboardPort()!;
    // The attack of issue 22: what the command line holds, sent as the first frame a child sends.
    const replay = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await replay.write(encodeFrame({ [TAG]: "hello", ...channel }));
      assert.equal(await within(firstFrame(replay)), null, "no launch message, and the connection is closed");
    } finally {
      replay.close();
    }
    // The handshake as a child makes it, with the child's id and a guessed key.
    const guess = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await assert.rejects(
        within(
          greetParent(guess, String(channel.id), crypto.getRandomValues(new Uint8Array(CHANNEL_KEY_BYTES))),
        ),
        (error: Error) => error instanceof AuthenticationError && /was rejected/.test(error.message),
      );
      assert.equal((await within(untilClosed(guess))).byteLength, 0, "then the connection is closed");
    } finally {
      guess.close();
    }
  } finally {
    Deno.kill(pid, "SIGCONT");
  }
  await within(started);
  await p.join(PATIENCE_MS);
  assert.equal(p.exitCode, 0);
});

/**
 * A fake parent: takes a child's greeting, challenges it, accepts whatever it answers, and answers the
 * child's challenge with a guess. Returns every byte the child sent.
 */
async function playFakeParent(conn: Deno.Conn): Promise<Uint8Array> {
  const received: number[] = [];
  received.push(...await readHandshakeMessage(conn));
  const nonce = crypto.getRandomValues(new Uint8Array(40));
  await conn.write(handshakeMessage(new Uint8Array([...encoder.encode("#CHALLENGE#{sha256}"), ...nonce])));
  received.push(...await readHandshakeMessage(conn));
  await conn.write(handshakeMessage(encoder.encode("#WELCOME#")));
  received.push(...await readHandshakeMessage(conn));
  const guess = crypto.getRandomValues(new Uint8Array(32));
  await conn.write(handshakeMessage(new Uint8Array([...encoder.encode("{sha256}"), ...guess])));
  // What a parent would send next: a launch. A child that took the guess would read it.
  await conn.write(encodeFrame({ [TAG]: "launch", entry: { kind: "none" }, args: [], mailboxes: {} }));
  received.push(...await untilClosed(conn));
  return Uint8Array.from(received);
}

Deno.test("the channel handshake proves both ends: a fake parent is refused, and the key never crosses", async () => {
  const key = crypto.getRandomValues(new Uint8Array(CHANNEL_KEY_BYTES));
  using fake = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = await Deno.connect({ hostname: "127.0.0.1", port: fake.addr.port });
  const parent = await fake.accept();
  try {
    const [greeted, sent] = await Promise.allSettled([
      greetParent(child, "child-1", key).finally(() => child.close()),
      playFakeParent(parent),
    ]);
    assert.equal(greeted.status, "rejected");
    assert.ok(greeted.reason instanceof AuthenticationError);
    assert.match(greeted.reason.message, /the peer does not know this child's channel key/);
    assert.equal(sent.status, "fulfilled");
    assert.ok(!decoder.decode(sent.value).includes(decoder.decode(key)), "the key never crosses");
    assert.ok(!toHex(sent.value).includes(toHex(key)), "not even as bytes");
  } finally {
    closeAll([child, parent]);
  }
  // The real thing: both sides know the key, both pass; a child with another key is refused by the parent.
  for (const childKey of [key, crypto.getRandomValues(new Uint8Array(CHANNEL_KEY_BYTES))]) {
    const child = await Deno.connect({ hostname: "127.0.0.1", port: fake.addr.port });
    const parent = await fake.accept();
    try {
      const parentSide = acceptChild(parent, (id) => id === "child-2" ? key : undefined);
      const [greeted, checked] = await Promise.allSettled([
        greetParent(child, "child-2", childKey),
        parentSide,
      ]);
      const right = childKey === key;
      assert.equal(greeted.status, right ? "fulfilled" : "rejected");
      assert.equal(checked.status, right ? "fulfilled" : "rejected");
      if (!right) {
        assert.match(String((checked as PromiseRejectedResult).reason), /does not know the child's/);
      }
    } finally {
      child.close();
      parent.close();
    }
  }
});

Deno.test("a child pointed at a fake parent exits with a clear message and never runs what it is sent", async () => {
  using fake = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = fake.addr.port;
  const bootstrap = new URL("../src/runtime/_child_subprocess.ts", import.meta.url);
  const entry = entryUrl(bootstrap, { self: null, channel: { port, id: "child-1" } }, null);
  const key = crypto.getRandomValues(new Uint8Array(CHANNEL_KEY_BYTES));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", `--allow-net=127.0.0.1:${port}`, entry],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stdin = child.stdin.getWriter();
  await stdin.write(key);
  await stdin.close();
  const conn = await within(fake.accept());
  let sent: Uint8Array;
  try {
    sent = await within(playFakeParent(conn));
  } finally {
    conn.close();
  }
  const { code, stdout, stderr } = await within(child.output());
  assert.equal(code, 1);
  assert.equal(decoder.decode(stdout), "");
  assert.match(
    decoder.decode(stderr),
    /^troupe: Cannot talk to the parent as the peer on 127\.0\.0\.1:\d+ failed the channel handshake \(The digest received was wrong: the peer does not know this child's channel key\); exiting\n$/,
  );
  assert.ok(!toHex(sent).includes(toHex(key)), "the key never crosses");
});

// ---- item 4: connections that prove nothing cost little, for a short time, and never the listener ----

test("silent connections to the switchboard are closed after the handshake time, and children still start", async () => {
  const opener = new Process({ target: targets.noop, module, backend });
  await opener.start();
  await opener.join();
  const port = switchboardPort()!;
  const saved = switchboardLimits.handshakeMs;
  switchboardLimits.handshakeMs = 200;
  const silent = await connectSilently(port, 5);
  try {
    // One that starts a greeting and stalls.
    await silent[0]!.write(new Uint8Array([0, 0, 0, 20, 35]));
    await within(Promise.all(silent.map(untilClosed)));
  } finally {
    switchboardLimits.handshakeMs = saved;
    closeAll(silent);
  }
  const p = new Process({ target: targets.noop, module, backend });
  await p.start();
  await p.join(PATIENCE_MS);
  assert.equal(p.exitCode, 0);
});

test("unproven connections to the switchboard are bounded: the oldest give way at once, a child still starts", async () => {
  const opener = new Process({ target: targets.noop, module, backend });
  await opener.start();
  await opener.join();
  const port = switchboardPort()!;
  const saved = switchboardLimits.maxPending;
  switchboardLimits.maxPending = 4;
  const silent: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 20; i++) silent.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await within(atLeast(silent.map(untilClosed), 16));
    // The flood is still there: a child's connection pushes out the oldest of it.
    const p = new Process({ target: targets.noop, module, backend });
    await p.start();
    await p.join(PATIENCE_MS);
    assert.equal(p.exitCode, 0);
  } finally {
    switchboardLimits.maxPending = saved;
    closeAll(silent);
  }
});

/** A script run as its own program with at most `fdLimit` open files, talked to over stdin and stdout. */
function runLimited(name: string, fdLimit: number, args: string[] = []) {
  const script = new URL(`./testdata/${name}`, import.meta.url).pathname;
  const child = new Deno.Command("bash", {
    args: ["-c", `ulimit -n ${fdLimit} && exec "$0" run -A "$@"`, Deno.execPath(), script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  let text = "";
  return {
    /** The next line it prints. */
    async line(): Promise<string> {
      while (!text.includes("\n")) {
        const { value, done } = await stdout.read();
        if (done) throw new Error(`the script ended: ${text}${await stderr}`);
        text += value;
      }
      const line = text.slice(0, text.indexOf("\n"));
      text = text.slice(line.length + 1);
      return line;
    },
    /** Tells it to go on, then waits for its end. */
    async finish(): Promise<{ code: number; stdout: string; stderr: string }> {
      const stdin = child.stdin.getWriter();
      await stdin.write(encoder.encode("go\n")).catch(() => {});
      await stdin.close().catch(() => {});
      for (let chunk = await stdout.read(); !chunk.done; chunk = await stdout.read()) text += chunk.value;
      return { code: (await child.status).code, stdout: text, stderr: await stderr };
    },
    kill(): void {
      try {
        child.kill("SIGKILL");
      } catch {
        // Ended already.
      }
    },
  };
}

Deno.test("a parent whose switchboard is flooded until it runs out of file descriptors lives on and starts children", async () => {
  const script = runLimited("channel_flood_script.ts", 64);
  const silent: Deno.TcpConn[] = [];
  try {
    const port = Number(await within(script.line()));
    silent.push(...await connectSilently(port, 200));
    // Each is accepted (as descriptors free up) and closed: pushed out, or out of time.
    await within(Promise.all(silent.map(untilClosed)));
    const { code, stdout, stderr } = await within(script.finish());
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.equal(stdout, "exitCode=0\n");
  } finally {
    closeAll(silent);
    script.kill();
  }
});

Deno.test("a manager flooded until it runs out of file descriptors keeps accepting, and serves a client after", async () => {
  const authkey = "flooded";
  const script = runLimited("channel_manager_flood_script.ts", 64, [authkey]);
  const flood: Deno.TcpConn[] = [];
  try {
    const { hostname, port } = JSON.parse(await within(script.line()));
    flood.push(...await connectSilently(port, 150));
    // Every connection is accepted: it gets the manager's challenge, or is closed to make room.
    await within(Promise.all(flood.map((conn) => conn.read(new Uint8Array(1)).catch(() => null))));
    // The flood still holds what it can: a client with the key still gets in.
    const client = await Deno.connect({ hostname, port });
    try {
      await within(authenticateServer(client, keyBytes(authkey)));
    } finally {
      client.close();
    }
    closeAll(flood);
    const { code, stdout, stderr } = await within(script.finish());
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.equal(stdout, "done\n");
  } finally {
    closeAll(flood);
    script.kill();
  }
});
