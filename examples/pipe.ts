// Pipes between processes (seed 002, "管道通信(Pipe)"): `Pipe()` is two-way,
// both ends send and receive; `Pipe(false)` is one-way, `[reader, writer]` as
// Python's `fd1, fd2 = Pipe(duplex=False)`. Python's example makes the pipe at
// module level and relies on fork; here children re-import this module (like
// Python's spawn), so the ends are passed to them in `args`.
import { type Connection, currentProcess, EOFError, Pipe, Process } from "../mod.ts";

// Two-way: the child receives a question on its end and sends the answer back.
export async function answer(conn: Connection<string, string>): Promise<void> {
  const question = await conn.recv(); // data = fd2.recv()
  conn.send(`${currentProcess().name} (pid ${Deno.pid}) heard "${question}"`); // fd2.send(data)
  conn.close();
}

// One-way: each child only writes, as Python's `fun(name)` does with
// `fd2.send({name: os.getpid()})`.
export async function fun(name: number, writer: Connection<Record<string, string>, never>): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100 * (5 - name))); // time.sleep(...)
  writer.send({ [name]: currentProcess().name });
  // No close() needed: a process's inherited ends are closed when it exits.
}

if (import.meta.main) {
  // --- duplex: fd1, fd2 = Pipe()  (duplex=True is the default) ---
  const [fd1, fd2] = Pipe<string, string>();
  const child = new Process({ target: answer, args: [fd2], backend: "subprocess" });
  await child.start();
  fd2.close(); // the child holds its own copy of fd2
  fd1.send("hello"); // fd1.send('hello')
  console.log(`main: the OS-process child answered: ${await fd1.recv()}`); // fd1.recv()
  await child.join();
  fd1.close();

  // --- one-way: fd1, fd2 = Pipe(False); fd1 only reads, fd2 only writes ---
  const [reader, writer] = Pipe<Record<string, string>>(false);
  console.log(`main: reader.readable=${reader.readable} reader.writable=${reader.writable}`);
  const jobs: Process[] = [];
  for (let i = 0; i < 5; i++) {
    const p = new Process({ target: fun, args: [i, writer] });
    jobs.push(p);
    await p.start();
  }
  writer.close(); // close our copy of the write end, or the reader never sees EOF
  const received: Record<string, string>[] = [];
  for (let i = 0; i < 5; i++) {
    const data = await reader.recv(); // data = fd1.recv()
    console.log("main: received", data);
    received.push(data);
  }
  for (const p of jobs) await p.join();
  const names = received.map((d) => Object.keys(d)[0]).sort();
  console.log(`main: one message from each of children ${names.join(", ")}`);

  // Every copy of the write end is closed now (the children exited, we closed ours):
  // recv() rejects with EOFError, as Python's recv raises EOFError.
  try {
    await reader.recv();
  } catch (error) {
    if (!(error instanceof EOFError)) throw error;
    console.log(`main: then ${error.name}: every writer is closed`);
  }
  reader.close();
}
