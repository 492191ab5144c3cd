/**
 * The entry module of a subprocess-backend process. It reads its channel key
 * from stdin, connects back to the root's loopback port, proves which process
 * it is (and has the root prove it is its parent), and serves the protocol
 * over that connection. When the connection closes the parent is gone, and
 * the child exits: an orphan must not outlive the program that started it.
 *
 * No top-level await: the entry module evaluates the target's module right
 * after this one, and this one must be fully set up by then. The host
 * imports this module too, only to keep it in the program's module graph:
 * there it does nothing (`isBootstrap`).
 *
 * @module
 */

import { CHANNEL_KEY_BYTES, greetParent, importChannelKey } from "../wire/_auth.ts";
import { serveChild } from "./_child.ts";
import { isBootstrap, readPreamble } from "./_entry.ts";
import { encodeFrame, FrameError, FrameWriter, readFrames } from "../wire/_frame.ts";
import { type FromChild, isProtocolMessage, type ToChild } from "./_protocol.ts";

const exit = Deno.exit;

/**
 * The key this child proves itself with: its parent writes it to stdin and
 * closes it (a command line or an environment is readable by others). Read
 * synchronously, before the target's module runs, so user code never sees
 * it: stdin then reads end-of-file, as Python's children's `/dev/null` does.
 */
function readChannelKey(): Uint8Array {
  const bytes = new Uint8Array(CHANNEL_KEY_BYTES + 1);
  let length = 0;
  try {
    while (length < bytes.byteLength) {
      const n = Deno.stdin.readSync(bytes.subarray(length));
      if (n === null) break;
      length += n;
    }
  } catch (error) {
    console.error(
      `troupe: Cannot read this child's channel key from stdin (${(error as Error).message}); exiting`,
    );
    exit(1);
  }
  if (length !== CHANNEL_KEY_BYTES) {
    console.error(
      `troupe: Cannot start as stdin held ${length} bytes instead of the ${CHANNEL_KEY_BYTES} of a channel key: ` +
        "a troupe child is started by its parent only; exiting",
    );
    exit(1);
  }
  return bytes.subarray(0, CHANNEL_KEY_BYTES);
}

function boot(): void {
  const { port, id } = readPreamble().channel!;
  // Imported while the connection is made and the target's module is evaluated.
  const channelKey = importChannelKey(readChannelKey());
  const backlog: Uint8Array[] = [];
  let writer: FrameWriter | undefined;
  const connected = Deno.connect({ hostname: "127.0.0.1", port }).then(async (conn) => {
    try {
      await greetParent(conn, id, await channelKey);
    } catch (error) {
      console.error(
        `troupe: Cannot talk to the parent as the peer on 127.0.0.1:${port} failed the channel handshake ` +
          `(${(error as Error).message}); exiting`,
      );
      exit(1);
    }
    return conn;
  });

  function send(message: FromChild): void {
    const frame = encodeFrame(message);
    if (writer) writer.write(frame);
    else backlog.push(frame);
  }

  const dispatch = serveChild({
    post: send,
    async flush() {
      await connected;
      await writer?.flush();
    },
    // The OS reports the exit code to the parent.
    exit: (code) => exit(code),
    servesRings: true,
  });

  connected.then(async (conn) => {
    conn.setNoDelay(true);
    writer = new FrameWriter(conn);
    // Lets a test play a broken child that writes garbage on its own channel,
    // once the frames before it are out (two writes in flight may interleave).
    (globalThis as Record<symbol, unknown>)[Symbol.for("troupe.channel")] = {
      conn,
      flush: () => writer!.flush(),
    };
    for (const frame of backlog.splice(0)) writer.write(frame);
    await readFrames(conn, (message) => {
      if (!isProtocolMessage<ToChild>(message)) {
        throw new FrameError("Cannot read a frame that is not a message");
      }
      dispatch(message);
    });
    exit(1);
  }).catch((error) => {
    console.error(`troupe: the channel to the parent broke (${error.message}); exiting`);
    exit(1);
  });
}

if (isBootstrap(import.meta.url)) boot();
