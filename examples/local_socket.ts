// Local (AF_UNIX) sockets (seed 002, "本地套接字", code10.py): a server binds a
// socket file, listens, accepts a client and receives its messages; the
// client connects to the same file and sends. Python's `socket(AF_UNIX,
// SOCK_STREAM)` + `bind(file)` + `listen()` is Deno's
// `Deno.listen({ transport: "unix", path })`, and `connect(file)` is
// `Deno.connect({ transport: "unix", path })`. The tutorial runs the two as
// separate programs; here the server is a troupe Process and the main
// process is the client. The server prints what it receives, as the
// tutorial's does, and sends back a short receipt; it serves one client
// and stops when that client closes (`if not data: break`), where the
// tutorial's loops for ever.
//
// The client must not connect before the server listens: the server sets
// an Event once it does, and the client waits on it.
import { currentProcess, Event, Process } from "../mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Python's `sendall`: `write` may write only part of the bytes. */
async function sendAll(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  for (let sent = 0; sent < bytes.length;) sent += await conn.write(bytes.subarray(sent));
}

/** Python's `recv(1024)`: at most 1024 bytes, or null once the peer has closed. */
async function recv(conn: Deno.Conn): Promise<string | null> {
  const buffer = new Uint8Array(1024);
  const n = await conn.read(buffer);
  return n === null ? null : decoder.decode(buffer.subarray(0, n));
}

// unix_recv.py
export async function server(sockFile: string, listening: Event): Promise<void> {
  const name = currentProcess().name;
  const listener = Deno.listen({ transport: "unix", path: sockFile }); // sockfd.bind(sock_file); sockfd.listen(3)
  console.log(`${name}: listening on the socket file`);
  listening.set();
  const c = await listener.accept(); // c, addr = sockfd.accept()
  console.log(`${name}: a client connected`);
  let received = 0;
  while (true) {
    const data = await recv(c); // data = c.recv(1024)
    if (data === null) break; // if not data: break
    console.log(`${name}: received ${JSON.stringify(data)}`); // print(data.decode())
    received++;
    await sendAll(c, `message ${received} received (${encoder.encode(data).length} bytes)`);
  }
  console.log(`${name}: the client closed; received ${received} messages`);
  c.close(); // c.close()
  listener.close(); // sockfd.close()
}

if (import.meta.main) {
  // sock_file = "./sock", in a temporary directory of its own
  const dir = await Deno.makeTempDir({ prefix: "troupe-sock-" });
  const sockFile = `${dir}/sock`;
  try {
    const listening = new Event();
    const p = new Process({ target: server, args: [sockFile, listening], name: "server" });
    await p.start();
    // No sleep: the server says when it listens (a timeout, in case it fails before).
    if (!(await listening.wait(10_000))) throw new Error(`the server is not listening: ${p}`);
    console.log(`main: the socket file is a socket: ${(await Deno.lstat(sockFile)).isSocket}`);

    // unix_send.py: the lines Python's client reads with input(">>")
    const sockfd = await Deno.connect({ transport: "unix", path: sockFile }); // sockfd.connect(sock_file)
    for (const msg of ["hello", "你好, 本地套接字", "bye"]) {
      await sendAll(sockfd, msg); // sockfd.send(msg.encode())
      // Each message waits for its receipt, so the server reads it whole, by itself.
      console.log(
        `main: sent ${JSON.stringify(msg)}, the server replied ${JSON.stringify(await recv(sockfd))}`,
      );
    }
    sockfd.close(); // sockfd.close(): the server's recv gets no data
    await p.join();
    console.log(`main: the server exited with code ${p.exitCode}`);
  } finally {
    // A socket file stays after its socket closes (Python's example removes it
    // before it binds); remove it and its directory.
    await Deno.remove(dir, { recursive: true });
  }
  console.log("main: removed the socket file");
}
