/**
 * Framing for the subprocess channel (loopback TCP): each message is a
 * header (a magic number and the payload length, both u32 little-endian)
 * followed by the message as `_codec.ts` encodes it: what structured clone
 * would copy, so a subprocess child gets what a worker would.
 * The magic number lets a reader tell garbage from a frame at once instead
 * of waiting for gigabytes a random length promised. Its last byte is the
 * wire version: a peer that speaks another (a program on another troupe,
 * connecting to a Manager) is told so, rather than misread.
 *
 * @module
 */

import { decode, encode } from "./_codec.ts";

/** The version of the frames and of what `_codec.ts` writes in them; change it when either changes. */
export const WIRE_VERSION = 2;
/** What every frame starts with: "TRU" and the version, as the four bytes of a little-endian u32. */
export const FRAME_MAGIC: number = 0x00555254 | (WIRE_VERSION << 24);
const HEADER_BYTES = 8;

/** A channel carried something that is not a frame: the peer is broken or hostile. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/**
 * Encodes one message. Throws a `DataCloneError` DOMException, as
 * `postMessage` does, when the message holds something that cannot be cloned.
 */
export function encodeFrame(message: unknown): Uint8Array {
  const payload = encode(message);
  const frame = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, payload.byteLength, true);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

/** Reassembles messages from a byte stream that may split or join frames anywhere. */
export class FrameReader {
  /** Frames larger than this are refused, as garbage would be (a peer not yet trusted gets little). */
  maxFrameBytes = Infinity;
  #buffer = new Uint8Array(64 * 1024);
  #length = 0;

  /**
   * Adds bytes and returns every message they complete. Throws `FrameError`
   * on garbage, after handing `onMessage` the messages before it (a peer's
   * last good message and its garbage may come in one read).
   */
  push(chunk: Uint8Array, onMessage?: (message: unknown) => void): unknown[] {
    this.#append(chunk);
    const messages: unknown[] = [];
    const take = onMessage ?? ((message: unknown) => messages.push(message));
    let offset = 0;
    while (this.#length - offset >= HEADER_BYTES) {
      const view = new DataView(this.#buffer.buffer, offset, HEADER_BYTES);
      const magic = view.getUint32(0, true);
      if (magic !== FRAME_MAGIC) {
        throw new FrameError(
          (magic & 0xffffff) === (FRAME_MAGIC & 0xffffff)
            ? `Cannot read a frame of wire version ${
              magic >>> 24
            }: this troupe speaks version ${WIRE_VERSION}; ` +
              "use the same troupe release on both ends"
            : "Cannot read the channel as it carries bytes that are not a troupe frame",
        );
      }
      const size = view.getUint32(4, true);
      if (size > this.maxFrameBytes) {
        throw new FrameError(
          `Cannot read a frame of ${size} bytes: at most ${this.maxFrameBytes} are accepted here`,
        );
      }
      if (this.#length - offset - HEADER_BYTES < size) break;
      const start = offset + HEADER_BYTES;
      let message: unknown;
      try {
        message = decode(this.#buffer.subarray(start, start + size));
      } catch (error) {
        throw new FrameError(`Cannot decode a frame on the channel: ${(error as Error).message}`);
      }
      offset = start + size;
      take(message);
    }
    this.#buffer.copyWithin(0, offset, this.#length);
    this.#length -= offset;
    return messages;
  }

  #append(chunk: Uint8Array): void {
    if (this.#length + chunk.byteLength > this.#buffer.byteLength) {
      const grown = new Uint8Array(Math.max(this.#buffer.byteLength * 2, this.#length + chunk.byteLength));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length += chunk.byteLength;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.byteLength;
  }
  return joined;
}

/**
 * Writes frames in order, each whole, however the socket splits them. The
 * first write starts synchronously, so a frame posted just before the
 * process exits still leaves it.
 */
export class FrameWriter {
  #conn: Deno.Conn;
  #queue: Uint8Array[] = [];
  #pumping: Promise<void> | null = null;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Queues a frame; a write error (the peer is gone) is left to the reader to notice. */
  write(frame: Uint8Array): void {
    this.#queue.push(frame);
    this.#pumping ??= this.#pump();
  }

  /** Resolves once every frame written so far has been handed to the OS. */
  flush(): Promise<void> {
    return this.#pumping ?? Promise.resolve();
  }

  async #pump(): Promise<void> {
    try {
      // Frames queued while a write was in flight go out together: one
      // syscall for a burst of small messages instead of one each.
      for (let frames = this.#queue.splice(0); frames.length > 0; frames = this.#queue.splice(0)) {
        await writeAll(this.#conn, frames.length === 1 ? frames[0]! : concat(frames));
      }
    } catch {
      this.#queue.length = 0;
    } finally {
      this.#pumping = null;
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) written += await conn.write(bytes.subarray(written));
}

/** Reads `conn` until it ends, handing each message over. Throws `FrameError` on garbage. */
export async function readFrames(
  conn: Deno.Conn,
  onMessage: (message: unknown) => void,
  reader: FrameReader = new FrameReader(),
): Promise<void> {
  const chunk = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(chunk);
    if (n === null) return;
    reader.push(chunk.subarray(0, n), onMessage);
  }
}
