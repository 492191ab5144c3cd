// A program that uses troupe the way a user of the published package does:
// imported from a URL (the test serves this repository over HTTP and points
// the import of mod.ts below at it), run from a cache with the server stopped.
import { Lock, Manager, Pool, Process, Queue } from "../../../mod.ts";
import { double, locked, report, store } from "./jobs.ts";

const module = new URL("./jobs.ts", import.meta.url);

if (import.meta.main) {
  for (const backend of ["worker", "subprocess"] as const) {
    const queue = new Queue<string>();
    const p = new Process({ target: report, args: [queue, backend], backend, module });
    await p.start();
    console.log(await queue.get({ timeout: 30_000 }));
    await p.join();
  }
  const lock = new Lock();
  const l = new Process({ target: locked, args: [lock], module });
  await l.start();
  await l.join();
  console.log(`a Lock crossed: ${l.exitCode}`);
  await using manager = await new Manager({ backend: "subprocess" }).start();
  const dict = await manager.dict<string, number>();
  const s = new Process({ target: store, args: [dict], backend: "subprocess", module });
  await s.start();
  await s.join();
  console.log(`a proxy crossed: ${await dict.get("x")}`);
  await using pool = new Pool({ processes: 2, backend: "subprocess", module });
  console.log(`pool: ${(await pool.map(double, [1, 2, 3])).join(",")}`);
}
