/**
 * The entry module of a subprocess-backend process. It connects back to the
 * root's socket, says which process it is, and serves the protocol over
 * that socket. When the socket closes the parent is gone, and the child
 * exits: an orphan must not outlive the program that started it.
 *
 * @module
 */

import { serveChild } from "./_child.ts";
import { encodeFrame, FrameError, FrameWriter, readFrames } from "./_frame.ts";
import { type Hello, isProtocolMessage, TAG, type ToChild } from "./_protocol.ts";

const [path, token] = Deno.args;
const exit = Deno.exit;
const conn = await Deno.connect({ transport: "unix", path: path! });
const writer = new FrameWriter(conn);
writer.write(encodeFrame({ [TAG]: "hello", token: token! } satisfies Hello));

const dispatch = serveChild({
  post: (message) => writer.write(encodeFrame(message)),
  flush: () => writer.flush(),
  // The OS reports the exit code to the parent.
  exit: (code) => exit(code),
});

readFrames(conn, (message) => {
  if (!isProtocolMessage<ToChild>(message)) throw new FrameError("Cannot read a frame that is not a message");
  dispatch(message);
}).then(
  () => exit(1),
  (error) => {
    console.error(`troupe: the channel to the parent broke (${error.message}); exiting`);
    exit(1);
  },
);
