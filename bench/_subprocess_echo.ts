// Echoes troupe frames over loopback TCP: the subprocess backend's transport, without troupe's protocol.
import { encodeFrame, FrameWriter, readFrames } from "../src/wire/_frame.ts";

const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
const writer = new FrameWriter(conn);
await readFrames(conn, (message) => writer.write(encodeFrame(message)));
