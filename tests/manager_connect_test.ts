/**
 * A Manager's socket: `Manager.connect`, the authkey handshake
 * (`src/_auth.ts`, Python's `multiprocessing.connection` challenge), what
 * the server does with peers that do not know the key or do not speak the
 * protocol, and what proxies in other OS processes see when the manager
 * shuts down or dies.
 */

import assert from "node:assert/strict";
import {
  ActorExitedError,
  AuthenticationError,
  type Backend,
  DictProxy,
  Manager,
  type ManagerAddress,
  Process,
  ProcessError,
  Queue,
} from "../mod.ts";
import { encodeFrame, FrameReader } from "../src/wire/_frame.ts";
import {
  BACKENDS,
  joined,
  managerProcess,
  type Outcome,
  PATIENCE_MS,
  processTest as test,
  runProgram,
  within,
} from "./_helpers.ts";
import * as targets from "./testdata/connect_targets.ts";

const module = targets.MODULE;

/** How long the server gives a connection to pass the handshake (`HANDSHAKE_MS` in src/_manager_server.ts). */
const HANDSHAKE_MS = 10_000;

/** A started manager listening at `address` with `authkey`, the Hanger type registered. */
function startManager(
  options: { backend?: Backend; authkey?: string | Uint8Array; address?: ManagerAddress } = {},
): Promise<Manager> {
  const manager = new Manager(options);
  manager.register("Hanger", targets.hanger, { module });
  return manager.start();
}

/** Checks that a connected handle on the manager at `address` makes objects that work. */
async function assertServes(address: ManagerAddress, authkey: string | Uint8Array): Promise<void> {
  await using client = await Manager.connect(address, { authkey });
  const d = await client.dict({ still: "serving" });
  assert.equal(await d.get("still"), "serving");
}

/** A temporary directory for Unix sockets, removed when disposed. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "troupe-connect-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------
// The wire, by hand
// ---------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const CHALLENGE = "#CHALLENGE#";
const DIGEST = "{sha256}";
const WELCOME = "#WELCOME#";
const FAILURE = "#FAILURE#";

/** The bytes of `parts`, strings as UTF-8, one after the other. */
function bytes(...parts: (string | Uint8Array)[]): Uint8Array<ArrayBuffer> {
  const chunks = parts.map((part) => typeof part === "string" ? encoder.encode(part) : part);
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A handshake message: a 4-byte big-endian length, then the bytes. */
function message(payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, payload.byteLength);
  return bytes(length, payload);
}

/** A 4-byte big-endian length alone. */
function lengthPrefix(length: number): Uint8Array<ArrayBuffer> {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, length);
  return prefix;
}

/** HMAC-SHA256 of `data` under `key`, computed here as any client would. */
async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key.slice(),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, data.slice()));
}

/** What the challenge `challenge` (with its `#CHALLENGE#` prefix) must be answered with. */
async function answerTo(key: Uint8Array, challenge: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return bytes(DIGEST, await hmac(key, challenge.subarray(CHALLENGE.length)));
}

function startsWith(payload: Uint8Array, prefix: string): boolean {
  return decoder.decode(payload.subarray(0, encoder.encode(prefix).byteLength)) === prefix;
}

/**
 * A raw connection, for speaking the protocol (or not) by hand. Every read
 * has a timeout; disposing closes it (cancelling a read still pending).
 */
class Raw implements Disposable {
  readonly conn: Deno.Conn;
  #pending: Uint8Array = new Uint8Array(0);
  #frames = new FrameReader();
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  static async to(address: ManagerAddress): Promise<Raw> {
    const conn = typeof address === "string"
      ? await Deno.connect({ transport: "unix", path: address })
      : await Deno.connect({ hostname: address.hostname, port: address.port });
    return new Raw(conn);
  }

  /** Reads once into the pending bytes; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    this.#pending = bytes(this.#pending, chunk.subarray(0, n));
    return true;
  }

  /** Exactly `length` bytes; fails if the peer closes first or they do not come in time. */
  readExactly(length: number, ms = PATIENCE_MS): Promise<Uint8Array<ArrayBuffer>> {
    return within(
      (async () => {
        while (this.#pending.byteLength < length) {
          if (!await this.#fill()) {
            throw new Error(`The peer closed after ${this.#pending.byteLength} of ${length} bytes`);
          }
        }
        const out = this.#pending.slice(0, length);
        this.#pending = this.#pending.slice(length);
        return out;
      })(),
      ms,
    );
  }

  /** The next handshake message's payload. */
  async readMessage(): Promise<Uint8Array<ArrayBuffer>> {
    const length = new DataView((await this.readExactly(4)).buffer).getUint32(0);
    assert.ok(length <= 256, `a handshake message is at most 256 bytes, not ${length}`);
    return this.readExactly(length);
  }

  /** The next frame of calls and answers (after the handshake). */
  readFrame(): Promise<unknown> {
    return within(
      (async () => {
        for (;;) {
          const [first] = this.#frames.push(this.#pending);
          this.#pending = new Uint8Array(0);
          if (first !== undefined) return first;
          if (!await this.#fill()) throw new Error("The peer closed before a frame came");
        }
      })(),
    );
  }

  async write(data: Uint8Array): Promise<void> {
    for (let at = 0; at < data.byteLength;) at += await this.conn.write(data.subarray(at));
  }

  sendMessage(payload: Uint8Array): Promise<void> {
    return this.write(message(payload));
  }

  /**
   * Waits for the peer to close (an end of stream, or a reset when it closed
   * with our bytes unread) and gives what it sent before. Fails if it stays
   * open past `ms`.
   */
  closedByPeer(ms = PATIENCE_MS): Promise<Uint8Array> {
    return within(
      (async () => {
        for (;;) {
          try {
            if (!await this.#fill()) return this.#pending;
          } catch (error) {
            if (
              error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.ConnectionAborted
            ) {
              return this.#pending;
            }
            throw error;
          }
        }
      })(),
      ms,
    );
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
  }
}

/** Answers the server's challenge on `raw` with `key`, as a client does; gives the verdict. */
async function answerServer(raw: Raw, key: Uint8Array): Promise<string> {
  const challenge = await raw.readMessage();
  await raw.sendMessage(await answerTo(key, challenge));
  return decoder.decode(await raw.readMessage());
}

/** Challenges the server on `raw` and checks its answer with `key`; says WELCOME or FAILURE accordingly. */
async function challengeServer(raw: Raw, key: Uint8Array): Promise<boolean> {
  const challenge = bytes(CHALLENGE, DIGEST, crypto.getRandomValues(new Uint8Array(40)));
  await raw.sendMessage(challenge);
  const response = await raw.readMessage();
  const expected = await answerTo(key, challenge);
  const ok = response.byteLength === expected.byteLength && response.every((byte, i) => byte === expected[i]);
  await raw.sendMessage(encoder.encode(ok ? WELCOME : FAILURE));
  return ok;
}

/**
 * A fake manager for one connection: `script` speaks to it by hand. Disposing
 * closes the listener and the connection, and rethrows what the script threw.
 */
function fakeServer(script: (raw: Raw) => Promise<void>): AsyncDisposable & { address: ManagerAddress } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { hostname, port } = listener.addr;
  let raw: Raw | undefined;
  const done = (async () => {
    raw = new Raw(await listener.accept());
    await script(raw);
  })();
  // Its failure is checked on disposal; until then it must not count as unhandled.
  done.catch(() => {});
  return {
    address: { hostname, port },
    async [Symbol.asyncDispose]() {
      listener.close();
      try {
        await within(done);
      } finally {
        raw?.[Symbol.dispose]();
      }
    },
  };
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

Deno.test("Manager.connect rejects a bad address or key with a TypeError, before connecting", async () => {
  await assert.rejects(Manager.connect("", { authkey: "k" }), TypeError);
  await assert.rejects(Manager.connect({ hostname: "127.0.0.1", port: -1 }, { authkey: "k" }), TypeError);
  await assert.rejects(
    Manager.connect({ hostname: "127.0.0.1", port: 70000 }, { authkey: "k" }),
    TypeError,
  );
  await assert.rejects(
    Manager.connect({ hostname: "127.0.0.1", port: 1 }, { authkey: 42 as unknown as string }),
    TypeError,
  );
  assert.throws(() => new Manager({ authkey: ["k"] as unknown as string }), TypeError);
});

test("Manager.connect with the right key gives a handle whose objects live in that manager", async () => {
  await using manager = await startManager({ authkey: "the key" });
  const address = manager.address;
  assert.ok(typeof address !== "string");
  assert.equal(address.hostname, "127.0.0.1", "it listens on the loopback by default");
  assert.ok(address.port > 0, "on a free port it was given");

  await using client = await Manager.connect(address, { authkey: "the key" });
  assert.deepEqual(client.address, address);
  const d = await client.dict<string, unknown>({ from: "client" });
  assert.ok(d instanceof DictProxy);
  await d.set("n", 1);
  assert.deepEqual(await d.copy(), new Map<string, unknown>([["from", "client"], ["n", 1]]));
  assert.deepEqual(await (await client.list([1, 2])).copy(), [1, 2]);
  assert.equal(await (await client.namespace({ x: 1 })).get("x"), 1);
  assert.equal(await (await client.value("i", 7)).get(), 7);
  assert.deepEqual(await (await client.array("d", [0.5, 1.5])).copy(), [0.5, 1.5]);
  assert.equal(await (await client.create("Hanger")).call("ping"), "pong", "registered types too");

  // The owner and the client reach the same objects, whichever made them.
  const owned = await manager.dict({ seed: "owner's" });
  const viaClient = await client.list([owned]);
  const back = await viaClient.get(0);
  assert.ok(back instanceof DictProxy);
  assert.equal(await back.get("seed"), "owner's");
  const ownersList = await manager.list<DictProxy<string, unknown>>();
  await ownersList.append(d);
  assert.equal(await (await ownersList.get(0)).get("from"), "client");
});

test("Manager.connect with a wrong key rejects with AuthenticationError, and the manager serves on", async () => {
  await using manager = await startManager({ authkey: "right" });
  await using early = await Manager.connect(manager.address, { authkey: "right" });
  const d = await early.dict({ a: 1 });
  const owned = await manager.list(["x"]);
  for (const wrong of ["wrong", "righ", "right ", "Right", "rightright"]) {
    await assert.rejects(Manager.connect(manager.address, { authkey: wrong }), (error) => {
      assert.ok(error instanceof AuthenticationError, `${String(error)} for ${JSON.stringify(wrong)}`);
      assert.ok(error instanceof ProcessError, "AuthenticationError is a ProcessError, as in Python");
      assert.equal(error.name, "AuthenticationError");
      return true;
    });
  }
  assert.equal(await d.get("a"), 1, "a client that was already in still works");
  assert.deepEqual(await owned.copy(), ["x"], "the owner's proxies still work");
  await assertServes(manager.address, "right");
});

test("A Uint8Array key is the same key as the string whose UTF-8 bytes it holds", async () => {
  const text = "clé 🔑";
  const utf8 = encoder.encode(text);
  {
    await using manager = await startManager({ authkey: text });
    await assertServes(manager.address, utf8);
    await assertServes(manager.address, text);
  }
  {
    await using manager = await startManager({ authkey: utf8 });
    await assertServes(manager.address, text);
    // A view into a larger buffer counts only its own bytes.
    const padded = bytes("xx", utf8, "yy");
    await assertServes(manager.address, padded.subarray(2, 2 + utf8.byteLength));
    await assert.rejects(Manager.connect(manager.address, { authkey: padded }), AuthenticationError);
  }
  {
    // Bytes that are not UTF-8: only the same bytes match, not the string of those code points.
    const binary = new Uint8Array([0xff, 0x00, 0xfe, 0x80]);
    await using manager = await startManager({ authkey: binary });
    await assertServes(manager.address, binary.slice());
    await assert.rejects(
      Manager.connect(manager.address, { authkey: String.fromCharCode(0xff, 0x00, 0xfe, 0x80) }),
      AuthenticationError,
    );
    await assert.rejects(
      Manager.connect(manager.address, { authkey: new Uint8Array([0xff, 0x00, 0xfe, 0x81]) }),
      AuthenticationError,
    );
  }
});

test("A key given as a Uint8Array is copied: changing the array afterwards changes nothing", async () => {
  const key = encoder.encode("mutable");
  const manager = new Manager({ authkey: key });
  key[0] = 0;
  await manager.start();
  try {
    await assertServes(manager.address, "mutable");
  } finally {
    await manager.shutdown();
  }
});

test("An empty authkey on both sides still authenticates (bpo-43952)", async () => {
  await using manager = await startManager({ authkey: "" });
  await assertServes(manager.address, "");
  await assertServes(manager.address, new Uint8Array(0));
});

test("An empty authkey and a non-empty one do not match: AuthenticationError either way", async () => {
  {
    await using manager = await startManager({ authkey: "" });
    await assert.rejects(Manager.connect(manager.address, { authkey: "x" }), AuthenticationError);
  }
  {
    await using manager = await startManager({ authkey: "x" });
    await assert.rejects(Manager.connect(manager.address, { authkey: "" }), AuthenticationError);
  }
});

// ---------------------------------------------------------------------------
// The handshake on the wire: the server's side
// ---------------------------------------------------------------------------

test("The server speaks first: a 4-byte big-endian length, #CHALLENGE#{sha256} and 40 fresh random bytes", async () => {
  await using manager = await startManager({ authkey: "k" });
  using one = await Raw.to(manager.address);
  using two = await Raw.to(manager.address);
  const nonces: string[] = [];
  for (const raw of [one, two]) {
    const length = new DataView((await raw.readExactly(4)).buffer).getUint32(0);
    assert.equal(length, CHALLENGE.length + DIGEST.length + 40);
    const challenge = await raw.readExactly(length);
    assert.ok(startsWith(challenge, CHALLENGE + DIGEST), decoder.decode(challenge));
    nonces.push(Array.from(challenge.subarray(CHALLENGE.length + DIGEST.length)).join(","));
  }
  assert.notEqual(nonces[0], nonces[1], "every connection gets its own challenge");
});

test("A client that answers with HMAC-SHA256 of {sha256}+nonce is welcomed, and the server proves the key too", async () => {
  const key = encoder.encode("wire key");
  await using manager = await startManager({ authkey: key });
  using raw = await Raw.to(manager.address);
  assert.equal(await answerServer(raw, key), WELCOME);
  assert.ok(
    await challengeServer(raw, key),
    "the server answered the client's challenge with the key's HMAC",
  );

  // Welcomed, the connection carries calls.
  await raw.write(encodeFrame({ n: 1, request: { op: "create", typeid: "list", args: [["by hand"]] } }));
  const created = await raw.readFrame() as { n: number; ok: boolean; value: number };
  assert.equal(created.n, 1);
  assert.equal(created.ok, true);
  await raw.write(
    encodeFrame({ n: 2, request: { op: "call", id: created.value, method: "copy", args: [] } }),
  );
  assert.deepEqual(await raw.readFrame(), { n: 2, ok: true, value: ["by hand"] });
});

test("A wrong answer to the challenge gets #FAILURE#, then the server closes the connection", async () => {
  const key = encoder.encode("k");
  await using manager = await startManager({ authkey: key });
  const answers: Record<string, (challenge: Uint8Array) => Promise<Uint8Array>> = {
    "another key's HMAC": (challenge) => answerTo(encoder.encode("K"), challenge),
    "the HMAC of the whole challenge, #CHALLENGE# included": async (challenge) =>
      bytes(DIGEST, await hmac(key, challenge)),
    "the HMAC of the nonce alone": async (challenge) =>
      bytes(DIGEST, await hmac(key, challenge.subarray(CHALLENGE.length + DIGEST.length))),
    "the right HMAC under another digest name": async (challenge) =>
      bytes("{sha384}", (await answerTo(key, challenge)).subarray(DIGEST.length)),
    "the right HMAC without the digest name": async (challenge) =>
      (await answerTo(key, challenge)).subarray(DIGEST.length),
    "the right HMAC cut short": async (challenge) => (await answerTo(key, challenge)).subarray(0, 39),
    "the challenge sent back": (challenge) => Promise.resolve(challenge),
    "an empty message": () => Promise.resolve(new Uint8Array(0)),
    "256 bytes of noise (the longest message)": () =>
      Promise.resolve(crypto.getRandomValues(new Uint8Array(256))),
  };
  for (const [what, answer] of Object.entries(answers)) {
    using raw = await Raw.to(manager.address);
    await raw.sendMessage(await answer(await raw.readMessage()));
    assert.equal(decoder.decode(await raw.readMessage()), FAILURE, what);
    assert.equal((await raw.closedByPeer()).byteLength, 0, `${what}: nothing after #FAILURE#`);
  }
  await assertServes(manager.address, key);
});

test("Garbage, an oversized length and an HTTP request are dropped without an answer; the manager serves on", async () => {
  await using manager = await startManager({ authkey: "k" });
  await using client = await Manager.connect(manager.address, { authkey: "k" });
  const d = await client.dict({ before: true });
  const noise = crypto.getRandomValues(new Uint8Array(1024));
  noise[0] = 0x80 | noise[0]!; // a length far past 256, whatever else it says
  const garbage: Record<string, Uint8Array> = {
    "random bytes": noise,
    "a length of 4 GiB": bytes(lengthPrefix(0xffffffff), "and then some"),
    "a length of 257, one past the limit": bytes(lengthPrefix(257), new Uint8Array(257)),
    "an HTTP request": encoder.encode("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
  };
  for (const [what, payload] of Object.entries(garbage)) {
    using raw = await Raw.to(manager.address);
    await raw.readMessage();
    await raw.write(payload);
    assert.equal((await raw.closedByPeer()).byteLength, 0, `${what}: closed without an answer`);
  }
  // A client that does not wait for the challenge (an HTTP client would not) is dropped too.
  {
    using raw = await Raw.to(manager.address);
    await raw.write(encoder.encode("POST /rpc HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"));
    await raw.closedByPeer();
  }
  // Many at once, while a proper client works.
  const many = await Promise.all(Array.from({ length: 8 }, () => Raw.to(manager.address)));
  try {
    await Promise.all(many.map(async (raw, i) => {
      await raw.readMessage();
      await raw.write(i % 2 === 0 ? noise : encoder.encode("GET / HTTP/1.0\r\n\r\n"));
    }));
    await assertServes(manager.address, "k");
    for (const raw of many) await raw.closedByPeer();
  } finally {
    for (const raw of many) raw[Symbol.dispose]();
  }
  assert.equal(await d.get("before"), true, "a client that was in stays in");
  await assertServes(manager.address, "k");
});

test("The server drops a client that refuses its answer or sends no proper challenge", async () => {
  const key = encoder.encode("k");
  await using manager = await startManager({ authkey: key });
  {
    // Welcomed, then tells the server its answer was wrong.
    using raw = await Raw.to(manager.address);
    assert.equal(await answerServer(raw, key), WELCOME);
    await raw.sendMessage(bytes(CHALLENGE, DIGEST, new Uint8Array(40)));
    await raw.readMessage();
    await raw.sendMessage(encoder.encode(FAILURE));
    assert.equal((await raw.closedByPeer()).byteLength, 0);
  }
  for (
    const challenge of [
      bytes(DIGEST, new Uint8Array(40)),
      bytes("#CHALLENGE#{md5}", new Uint8Array(20)),
      bytes(WELCOME),
    ]
  ) {
    // Welcomed, then sends something that is not a challenge: the server does not answer it.
    using raw = await Raw.to(manager.address);
    assert.equal(await answerServer(raw, key), WELCOME);
    await raw.sendMessage(challenge);
    assert.equal((await raw.closedByPeer()).byteLength, 0, decoder.decode(challenge));
  }
  {
    // Welcomed, then an oversized challenge.
    using raw = await Raw.to(manager.address);
    assert.equal(await answerServer(raw, key), WELCOME);
    await raw.write(bytes(lengthPrefix(1 << 20), CHALLENGE, DIGEST));
    assert.equal((await raw.closedByPeer()).byteLength, 0);
  }
  await assertServes(manager.address, key);
});

test(
  "A connection silent in the handshake is dropped after 10 s, and everyone else is served meanwhile",
  async () => {
    const key = encoder.encode("k");
    await using manager = await startManager({ authkey: key });
    using silent = await Raw.to(manager.address);
    const opened = performance.now();
    await silent.readMessage();
    // Another that is welcomed, then never sends its own challenge.
    using halfway = await Raw.to(manager.address);
    assert.equal(await answerServer(halfway, key), WELCOME);
    const dropped = Promise.all([
      silent.closedByPeer(HANDSHAKE_MS + PATIENCE_MS),
      halfway.closedByPeer(HANDSHAKE_MS + PATIENCE_MS),
    ]);

    // While both wait, the manager serves others at once.
    await assertServes(manager.address, key);
    using third = await Raw.to(manager.address);
    assert.equal(await answerServer(third, key), WELCOME);
    assert.ok(await challengeServer(third, key));
    assert.ok(performance.now() - opened < HANDSHAKE_MS, "the others did not wait for the silent ones");

    const [fromSilent, fromHalfway] = await dropped;
    const elapsed = performance.now() - opened;
    assert.equal(fromSilent.byteLength, 0);
    assert.equal(fromHalfway.byteLength, 0);
    assert.ok(elapsed >= HANDSHAKE_MS - 1_000, `dropped after ${Math.round(elapsed)} ms, not before 10 s`);
    await assertServes(manager.address, key);
  },
);

// ---------------------------------------------------------------------------
// The handshake on the wire: the client's side, against fake managers
// ---------------------------------------------------------------------------

Deno.test("Manager.connect answers the challenge and challenges back: it connects to any server that knows the key", async () => {
  const key = encoder.encode("fake's key");
  let heard: string[] = [];
  {
    await using server = fakeServer(async (raw) => {
      const challenge = bytes(CHALLENGE, DIGEST, crypto.getRandomValues(new Uint8Array(40)));
      await raw.sendMessage(challenge);
      const answer = await raw.readMessage();
      const expected = await answerTo(key, challenge);
      const right = answer.byteLength === expected.byteLength && answer.every((b, i) => b === expected[i]);
      await raw.sendMessage(encoder.encode(right ? WELCOME : FAILURE));
      const theirs = await raw.readMessage();
      heard = [String(right), decoder.decode(theirs.subarray(0, CHALLENGE.length + DIGEST.length))];
      assert.equal(theirs.byteLength, CHALLENGE.length + DIGEST.length + 40);
      await raw.sendMessage(await answerTo(key, theirs));
      assert.equal(decoder.decode(await raw.readMessage()), WELCOME);
      // connect() checks the key, then closes: nothing more comes.
      await raw.closedByPeer();
    });
    const client = await Manager.connect(server.address, { authkey: "fake's key" });
    await client.shutdown();
  }
  assert.deepEqual(heard, ["true", CHALLENGE + DIGEST]);
});

Deno.test("Manager.connect rejects with AuthenticationError when the server refuses it, or does not speak the protocol", async () => {
  const key = encoder.encode("k");
  const challenge = () => bytes(CHALLENGE, DIGEST, crypto.getRandomValues(new Uint8Array(40)));
  const servers: Record<string, (raw: Raw) => Promise<void>> = {
    "says #FAILURE#": async (raw) => {
      await raw.sendMessage(challenge());
      await raw.readMessage();
      await raw.sendMessage(encoder.encode(FAILURE));
      await raw.closedByPeer();
    },
    "says something other than #WELCOME#": async (raw) => {
      await raw.sendMessage(challenge());
      await raw.readMessage();
      await raw.sendMessage(encoder.encode("#WELCOME"));
      await raw.closedByPeer();
    },
    "sends no challenge": async (raw) => {
      await raw.sendMessage(encoder.encode("HELLO, I am not a manager"));
      await raw.closedByPeer();
    },
    "sends an old-style challenge": async (raw) => {
      await raw.sendMessage(bytes(CHALLENGE, crypto.getRandomValues(new Uint8Array(20))));
      await raw.closedByPeer();
    },
    "sends a length past 256": async (raw) => {
      await raw.write(bytes(lengthPrefix(257), challenge(), new Uint8Array(257 - 59)));
      await raw.closedByPeer();
    },
    "sends an HTTP response": async (raw) => {
      await raw.write(encoder.encode("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
      await raw.closedByPeer();
    },
  };
  for (const [what, script] of Object.entries(servers)) {
    await using server = fakeServer(script);
    await assert.rejects(Manager.connect(server.address, { authkey: key }), (error) => {
      assert.ok(error instanceof AuthenticationError, `a server that ${what}: ${String(error)}`);
      return true;
    });
  }
  // A server that hangs up at once: no connection (today an AuthenticationError too).
  await using server = fakeServer((raw) => Promise.resolve(raw[Symbol.dispose]()));
  await assert.rejects(Manager.connect(server.address, { authkey: key }));
});

Deno.test("Manager.connect refuses an impostor: a server that welcomes it but cannot answer its challenge", async () => {
  const key = encoder.encode("the real key");
  const impostors: Record<string, (theirs: Uint8Array) => Promise<Uint8Array>> = {
    "zeros": () => Promise.resolve(bytes(DIGEST, new Uint8Array(32))),
    "another key's HMAC": (theirs) => answerTo(encoder.encode("a guess"), theirs),
    "their own challenge sent back": (theirs) => Promise.resolve(theirs),
  };
  for (const [what, forge] of Object.entries(impostors)) {
    let verdict = "";
    {
      await using server = fakeServer(async (raw) => {
        // It does not check the answer: it welcomes anyone.
        await raw.sendMessage(bytes(CHALLENGE, DIGEST, crypto.getRandomValues(new Uint8Array(40))));
        await raw.readMessage();
        await raw.sendMessage(encoder.encode(WELCOME));
        await raw.sendMessage(await forge(await raw.readMessage()));
        verdict = decoder.decode(await raw.readMessage());
        await raw.closedByPeer();
      });
      await assert.rejects(Manager.connect(server.address, { authkey: key }), AuthenticationError, what);
    }
    assert.equal(verdict, FAILURE, `the client told the impostor (${what})`);
  }
});

// ---------------------------------------------------------------------------
// Unix sockets, and other OS processes
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  test(`[${backend} manager] listens on a Unix socket path; connect and subprocess children reach it there`, async () => {
    await using dir = await tempDir();
    const path = `${dir.path}/manager.sock`;
    {
      await using manager = await startManager({ backend, authkey: "unix", address: path });
      assert.equal(manager.address, path);
      assert.ok((await Deno.stat(path)).isSocket);
      await using client = await Manager.connect(path, { authkey: "unix" });
      const d = await client.dict<string, unknown>({ seed: "over a Unix socket" });
      const owned = await manager.list(["the owner's"]);
      await assert.rejects(Manager.connect(path, { authkey: "xinu" }), AuthenticationError);

      const out = new Queue<{ seed: string; pid: number }>();
      const child = new Process({ target: targets.useDict, args: [d, out], module, backend: "subprocess" });
      await child.start();
      const report = await out.get({ timeout: PATIENCE_MS });
      await joined(child);
      assert.equal(report.seed, "over a Unix socket");
      assert.notEqual(report.pid, Deno.pid);
      assert.equal(await d.get("child"), `over a Unix socket seen by pid ${report.pid}`);
      assert.deepEqual(await owned.copy(), ["the owner's"]);
    }
    await assert.rejects(within(Manager.connect(path, { authkey: "unix" })));
  });
}

for (const backend of BACKENDS) {
  test(`[${backend} manager] a subprocess child uses proxies over the socket, and connects itself with the key`, async () => {
    await using manager = await startManager({ backend, authkey: "shared" });
    await using client = await Manager.connect(manager.address, { authkey: "shared" });
    const owned = await manager.dict<string, unknown>({ seed: "the owner's" });
    const viaClient = await client.dict<string, unknown>({ seed: "the client's" });
    const out = new Queue<unknown>();
    const children = [owned, viaClient].map((d) =>
      new Process({ target: targets.useDict, args: [d, out], module, backend: "subprocess" })
    );
    for (const child of children) await child.start();
    const reports = [await out.get({ timeout: PATIENCE_MS }), await out.get({ timeout: PATIENCE_MS })] as {
      seed: string;
      pid: number;
    }[];
    for (const child of children) await joined(child);
    assert.deepEqual(reports.map((r) => r.seed).toSorted(), ["the client's", "the owner's"]);
    for (const r of reports) assert.notEqual(r.pid, Deno.pid, "the children are OS processes of their own");
    assert.match(String(await owned.get("child")), /^the owner's seen by pid \d+$/);
    assert.match(String(await viaClient.get("child")), /^the client's seen by pid \d+$/);

    // Another OS process that has only the address and the key.
    for (const [authkey, expected] of [["shared", "value"], ["guess", "error"]] as const) {
      const connector = new Process({
        target: targets.connectAndUse,
        args: [manager.address, authkey, out],
        module,
        backend: "subprocess",
      });
      await connector.start();
      const outcome = await out.get({ timeout: PATIENCE_MS }) as Outcome;
      await joined(connector);
      assert.ok(expected in outcome, `${authkey}: ${JSON.stringify(outcome)}`);
      if ("value" in outcome) assert.equal(outcome.value, `pid ${connector.pid}`);
      if ("error" in outcome) assert.equal(outcome.error.name, "AuthenticationError");
    }
    await assertServes(manager.address, "shared");
  });
}

// ---------------------------------------------------------------------------
// Shutdown and death
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  test(`[${backend} manager] killed with calls in flight from here, a client and a subprocess child: all reject with ActorExitedError`, async () => {
    const manager = await startManager({ backend, authkey: "k" });
    try {
      const client = await Manager.connect(manager.address, { authkey: "k" });
      const owned = await manager.create("Hanger");
      const viaClient = await client.create("Hanger");
      const out = new Queue<Outcome>();
      const child = new Process({
        target: targets.callHang,
        args: [owned, out],
        module,
        backend: "subprocess",
      });
      await child.start();
      const fromHere = owned.call("hang");
      const fromClient = viaClient.call("hang");
      fromHere.catch(() => {});
      fromClient.catch(() => {});
      // Both calls on `owned` (here and the child's), and the client's, reached the manager.
      assert.equal(await owned.call("arrived", [2]), 2);
      assert.equal(await viaClient.call("arrived", [1]), 1);

      const process = managerProcess();
      process.kill();
      for (const [who, call] of [["here", fromHere], ["the client", fromClient]] as const) {
        await assert.rejects(within(call), (error) => {
          assert.ok(error instanceof ActorExitedError, `${who}: ${String(error)}`);
          return true;
        });
      }
      const childs = await out.get({ timeout: PATIENCE_MS });
      assert.ok("error" in childs, JSON.stringify(childs));
      assert.equal(childs.error.name, "ActorExitedError");
      await joined(child);
      await process.join(PATIENCE_MS);
      assert.equal(process.exitCode, -9);

      // And every later call rejects too, at once.
      await assert.rejects(within(owned.call("ping")), ActorExitedError);
      await assert.rejects(within(viaClient.call("ping")));
      await client.shutdown();
    } finally {
      await manager.shutdown();
    }
  });
}

test("shutdown() rejects a connected client's call in flight and drops a handshake under way; nobody connects after", async () => {
  const manager = await startManager({ authkey: "k" });
  const address = manager.address;
  await using client = await Manager.connect(address, { authkey: "k" });
  const owned = await manager.dict({ a: 1 });
  const viaClient = await client.dict({ b: 2 });
  const h = await client.create("Hanger");
  const inFlight = h.call("hang");
  inFlight.catch(() => {});
  assert.equal(await h.call("arrived", [1]), 1);
  using midHandshake = await Raw.to(address);
  await midHandshake.readMessage();

  await manager.shutdown();
  await assert.rejects(within(inFlight), ActorExitedError);
  await midHandshake.closedByPeer();
  // Refused: never served.
  await assert.rejects(within(Manager.connect(address, { authkey: "k" })));
  await assert.rejects(within(owned.get("a")), ActorExitedError);
  await assert.rejects(within(viaClient.get("b")), ActorExitedError);
  await manager.shutdown();
});

test("A connected handle's shutdown() closes its connection only: the manager serves on", async () => {
  await using manager = await startManager({ authkey: "k" });
  const client = await Manager.connect(manager.address, { authkey: "k" });
  await assert.rejects(client.start(), ProcessError);
  assert.throws(() => client.register("Late", targets.hanger, { module }), ProcessError);
  const d = await client.dict({ kept: true });
  await client.shutdown();
  await client.shutdown();
  await assert.rejects(client.dict(), ProcessError);
  await assert.rejects(client.start(), ProcessError);
  assert.equal(managerProcess().exitCode, null, "the manager still runs");
  assert.deepEqual(await (await manager.list([1])).copy(), [1]);
  await assertServes(manager.address, "k");
  // The objects it made live as long as the manager, not the handle.
  const owners = await manager.list([d]);
  assert.ok((await owners.get(0)) instanceof DictProxy);
  assert.equal(await (await owners.get(0) as DictProxy<string, boolean>).get("kept"), true);
});

test("Shutting down one connected handle does not disturb calls in flight through another", async () => {
  for (const backend of BACKENDS) {
    await using manager = await startManager({ backend, authkey: "k" });
    await using a = await Manager.connect(manager.address, { authkey: "k" });
    const b = await Manager.connect(manager.address, { authkey: "k" });
    const owned = await manager.create("Hanger");
    const viaA = await a.create("Hanger");
    const settled: string[] = [];
    for (const [who, h] of [["the owner's proxy", owned], ["a's proxy", viaA]] as const) {
      h.call("hang").then(
        () => settled.push(`${who}: answered`),
        (error) => settled.push(`${who}: ${String(error)}`),
      );
    }
    assert.equal(await owned.call("arrived", [1]), 1);
    assert.equal(await viaA.call("arrived", [1]), 1);
    await (await b.list()).len();
    await b.shutdown();
    // A round trip through each after b is gone: the calls in flight are still in flight.
    assert.equal(await viaA.call("ping"), "pong");
    assert.equal(await owned.call("ping"), "pong");
    assert.deepEqual(settled, [], `${backend} manager`);
  }
});

for (const backend of BACKENDS) {
  test(
    `[${backend} manager] once shutdown() resolves, its address is free: connect is refused, a Unix path is gone and reusable`,
    async () => {
      await using dir = await tempDir();
      const path = `${dir.path}/manager.sock`;
      // A few rounds: the listener outliving shutdown() is a race.
      for (let round = 0; round < 5; round++) {
        const tcp = await startManager({ backend, authkey: "k" });
        await assertServes(tcp.address, "k");
        await tcp.shutdown();
        await assert.rejects(
          within(Manager.connect(tcp.address, { authkey: "k" })),
          Deno.errors.ConnectionRefused,
        );

        const unix = await startManager({ backend, authkey: "k", address: path });
        await assertServes(path, "k");
        await unix.shutdown();
        await assert.rejects(
          Deno.stat(path),
          Deno.errors.NotFound,
          "the socket file is removed, as Python unlinks it",
        );
        await assert.rejects(within(Manager.connect(path, { authkey: "k" })), Deno.errors.NotFound);
      }
    },
  );
}

test("start() on an address already in use rejects, and leaves no process behind", async () => {
  await using first = await startManager({ authkey: "k" });
  const second = new Manager({ authkey: "k", address: first.address });
  await assert.rejects(second.start());
  await assert.rejects(second.start(), ProcessError, "it cannot be started again");
  await assertServes(first.address, "k");
});

test("A manager listens on the TCP port it is given", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr;
  probe.close();
  await using manager = await startManager({ authkey: "k", address: { hostname: "127.0.0.1", port } });
  assert.deepEqual(manager.address, { hostname: "127.0.0.1", port });
  await assertServes({ hostname: "127.0.0.1", port }, "k");
});

Deno.test("A program without net permission still uses a Manager: its worker children reach it through its mailbox", async () => {
  const { code, stdout, stderr } = await runProgram(
    new URL("./testdata/manager_no_net_script.ts", import.meta.url),
    {
      flags: ["--allow-read", "--allow-env"],
    },
  );
  assert.equal(code, 0, stderr);
  assert.match(stdout, /child exit 0, dict \[\["child",1\]\]/);
  assert.match(stdout, /address: Cannot tell the Manager's address as it does not listen/);
});
