// A program where processes cannot start: run with --deny-run, or (with
// "bare") with Worker and Deno.Command taken away, as on Deno Deploy. Prints
// what each call gave; an uncaught error or a hang fails the test instead.
// deno-lint-ignore-file no-explicit-any

const bare = Deno.args[0] === "bare";
if (bare) {
  delete (globalThis as any).Worker;
  delete (Deno as any).Command;
}
const { Lock, Manager, Pool, Process, Queue, Supervisor, Value } = await import("../../mod.ts");

export function inc(x: number): number {
  return x + 1;
}

function said(error: unknown): string {
  const { name, message, cause } = error as Error;
  const why = cause instanceof Error ? ` | cause ${cause.name}: ${cause.message}` : "";
  return `${name}: ${message}${why}`;
}

if (import.meta.main) {
  const queue = new Queue<number>();
  await queue.put(1);
  const value = new Value("i", 3);
  const lock = new Lock();
  await lock.acquire();
  lock.release();
  console.log(`in-process objects work: ${await queue.get()} ${value.value}`);
  for (const backend of bare ? ["worker", "subprocess"] as const : ["subprocess"] as const) {
    // A sandboxed worker child is a web Worker (an unsandboxed one a node:worker_threads one, which stays).
    const permissions = backend === "worker" ? { net: false } : undefined;
    await new Process({ target: inc, args: [1], backend, ...(permissions ? { permissions } : {}) }).start()
      .then(
        () => console.log(`${backend} process started`),
        (error) => console.log(`${backend} process: ${said(error)}`),
      );
  }
  const pool = new Pool({ processes: 2, backend: "subprocess" });
  await pool.map(inc, [1, 2, 3]).then(
    (results) => console.log(`pool: ${results}`),
    (error) => console.log(`pool: ${said(error)}`),
  );
  await pool.terminate();
  const supervisor = new Supervisor({
    children: [{ id: "a", target: inc, args: [1], backend: "subprocess" }],
  });
  await supervisor.start().then(
    () => console.log("supervisor started"),
    (error) => console.log(`supervisor: ${said(error)}`),
  );
  await new Manager({ backend: "subprocess" }).start().then(
    () => console.log("manager started"),
    (error) => console.log(`manager: ${said(error)}`),
  );
  console.log("the end");
}
