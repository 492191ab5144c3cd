/**
 * The authkey handshake of a manager's connections, Python's
 * `multiprocessing.connection` challenge in shape: each side proves it
 * knows the key by answering a random challenge with its HMAC-SHA256,
 * without the key ever crossing. The server challenges first, then the
 * client; either refusal ends the connection. The server never signs
 * anything for a peer that has not proven itself first.
 *
 * A subprocess child proves itself to the root's switchboard the same way,
 * with a one-time key its parent wrote to its stdin: it first says which
 * child it claims to be (not a secret), then both sides prove they know that
 * child's key.
 *
 * Handshake messages are a 4-byte big-endian length and the bytes, at most
 * 256 of them, so a peer that sends garbage is refused at once.
 *
 * @module
 */

import { AuthenticationError } from "../core/errors.ts";

const CHALLENGE = "#CHALLENGE#";
const WELCOME = "#WELCOME#";
const FAILURE = "#FAILURE#";
const DIGEST = "{sha256}";
const GREETING = "#TROUPE-CHILD#";
const NONCE_BYTES = 40;
const MAX_MESSAGE_BYTES = 256;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How many random bytes a subprocess child's channel key has. */
export const CHANNEL_KEY_BYTES = 32;

/** Who the peer should have been, for the messages of a failed handshake. */
interface Peer {
  /** What the peer is, when it does not speak the handshake: "a troupe manager". */
  readonly what: string;
  /** The key this process proves it knows: "the manager's authkey". */
  readonly key: string;
}

const MANAGER: Peer = { what: "a troupe manager", key: "the manager's authkey" };
const PARENT: Peer = { what: "this child's parent", key: "this child's channel key" };
const CHILD: Peer = { what: "a troupe child", key: "the child's channel key" };

/** The key as bytes: a string is UTF-8, as `b"..."` would be. */
export function keyBytes(authkey: string | Uint8Array): Uint8Array {
  return typeof authkey === "string" ? encoder.encode(authkey) : authkey;
}

/** A key as the hex text that travels with proxies. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The key that hex text stands for. */
export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function hmacKey(key: Uint8Array): Promise<CryptoKey> {
  // WebCrypto refuses an empty key, which Python allows; HMAC pads a short
  // key with zeros, so one zero byte signs exactly as the empty key does.
  const raw = key.byteLength === 0 ? new Uint8Array(1) : key.slice();
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

async function send(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  const message = new Uint8Array(4 + bytes.byteLength);
  new DataView(message.buffer).setUint32(0, bytes.byteLength);
  message.set(bytes, 4);
  for (let at = 0; at < message.byteLength;) at += await conn.write(message.subarray(at));
}

/** Reads exactly `length` bytes: never more, so what follows the handshake stays in the socket. */
async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length;) {
    const n = await conn.read(bytes.subarray(at));
    if (n === null) throw new AuthenticationError("Cannot authenticate as the peer closed the connection");
    at += n;
  }
  return bytes;
}

async function receive(conn: Deno.Conn): Promise<Uint8Array<ArrayBuffer>> {
  const length = new DataView((await readExactly(conn, 4)).buffer).getUint32(0);
  if (length > MAX_MESSAGE_BYTES) {
    throw new AuthenticationError(
      `Cannot authenticate as the peer sent ${length} bytes: a handshake message is short`,
    );
  }
  return readExactly(conn, length);
}

function startsWith(bytes: Uint8Array, prefix: string): boolean {
  return decoder.decode(bytes.subarray(0, prefix.length)) === prefix;
}

/** Challenges the peer to prove it knows `key`; throws an AuthenticationError when it does not. */
async function deliverChallenge(conn: Deno.Conn, key: CryptoKey, peer: Peer): Promise<void> {
  const challenge = new Uint8Array([
    ...encoder.encode(CHALLENGE + DIGEST),
    ...crypto.getRandomValues(new Uint8Array(NONCE_BYTES)),
  ]);
  await send(conn, challenge);
  const response = await receive(conn);
  const digest = response.subarray(DIGEST.length);
  const ok = startsWith(response, DIGEST) &&
    await crypto.subtle.verify("HMAC", key, digest, challenge.subarray(CHALLENGE.length));
  await send(conn, encoder.encode(ok ? WELCOME : FAILURE));
  if (!ok) {
    throw new AuthenticationError(`The digest received was wrong: the peer does not know ${peer.key}`);
  }
}

/** Answers the peer's challenge with `key`; throws an AuthenticationError when it refuses the answer. */
async function answerChallenge(conn: Deno.Conn, key: CryptoKey, peer: Peer): Promise<void> {
  const challenge = await receive(conn);
  if (!startsWith(challenge, CHALLENGE + DIGEST)) {
    throw new AuthenticationError(
      `Cannot authenticate as the peer sent no challenge: it is not ${peer.what}`,
    );
  }
  const signed = await crypto.subtle.sign("HMAC", key, challenge.subarray(CHALLENGE.length));
  await send(conn, new Uint8Array([...encoder.encode(DIGEST), ...new Uint8Array(signed)]));
  const verdict = decoder.decode(await receive(conn));
  if (verdict !== WELCOME) {
    throw new AuthenticationError(`The digest sent was rejected: this process does not know ${peer.key}`);
  }
}

async function serverSide(conn: Deno.Conn, authkey: Uint8Array, peer: Peer): Promise<void> {
  const key = await hmacKey(authkey);
  await deliverChallenge(conn, key, peer);
  await answerChallenge(conn, key, peer);
}

async function clientSide(conn: Deno.Conn, authkey: Uint8Array | CryptoKey, peer: Peer): Promise<void> {
  const key = authkey instanceof Uint8Array ? await hmacKey(authkey) : authkey;
  await answerChallenge(conn, key, peer);
  await deliverChallenge(conn, key, peer);
}

/** The server's side: challenge the client, then answer its challenge. */
export function authenticateClient(conn: Deno.Conn, authkey: Uint8Array): Promise<void> {
  return serverSide(conn, authkey, MANAGER);
}

/** The client's side: answer the server's challenge, then challenge it. */
export function authenticateServer(conn: Deno.Conn, authkey: Uint8Array): Promise<void> {
  return clientSide(conn, authkey, MANAGER);
}

/**
 * A subprocess child's channel key, ready to sign with: a child imports it
 * while its connection is being made.
 */
export function importChannelKey(channelKey: Uint8Array): Promise<CryptoKey> {
  return hmacKey(channelKey);
}

/**
 * A subprocess child's side of its channel: says which child it is, proves
 * it knows that child's key, then has the listener prove it knows it too.
 * Throws an AuthenticationError when the listener is not its parent.
 */
export async function greetParent(
  conn: Deno.Conn,
  id: string,
  channelKey: Uint8Array | CryptoKey,
): Promise<void> {
  await send(conn, encoder.encode(GREETING + id));
  await clientSide(conn, channelKey, PARENT);
}

/**
 * The switchboard's side of a new connection: reads which child it says it
 * is, has it prove it knows that child's key (from `keyOf`, undefined for a
 * child not expected), then proves it knows the key too. Resolves with the
 * child's id; throws an AuthenticationError otherwise.
 */
export async function acceptChild(
  conn: Deno.Conn,
  keyOf: (id: string) => Uint8Array | undefined,
): Promise<string> {
  const greeting = await receive(conn);
  if (!startsWith(greeting, GREETING)) {
    throw new AuthenticationError(`Cannot accept the connection as it did not greet as ${CHILD.what}`);
  }
  const id = decoder.decode(greeting.subarray(GREETING.length));
  const channelKey = keyOf(id);
  if (!channelKey) {
    throw new AuthenticationError(`Cannot accept a connection for ${id}: no such child is expected`);
  }
  await serverSide(conn, channelKey, CHILD);
  return id;
}
