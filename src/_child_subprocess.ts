/**
 * The entry module of a subprocess-backend process. It connects back to the
 * root's loopback port, proves which process it is, and serves the protocol
 * over that connection. When the connection closes the parent is gone, and
 * the child exits: an orphan must not outlive the program that started it.
 *
 * No top-level await: the entry module evaluates the target's module right
 * after this one, and this one must be fully set up by then.
 *
 * @module
 */

import { serveChild } from "./_child.ts";
import { readPreamble } from "./_entry.ts";
import { encodeFrame, FrameError, FrameWriter, readFrames } from "./_frame.ts";
import { type FromChild, type Hello, isProtocolMessage, TAG, type ToChild } from "./_protocol.ts";

const exit = Deno.exit;
const { port, token } = readPreamble().channel!;
const backlog: Uint8Array[] = [];
let writer: FrameWriter | undefined;
const connected = Deno.connect({ hostname: "127.0.0.1", port });

function send(message: FromChild | Hello): void {
  const frame = encodeFrame(message);
  if (writer) writer.write(frame);
  else backlog.push(frame);
}

// First of all: the root hangs up on a connection that says anything before it.
send({ [TAG]: "hello", token });

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
