// A program that uses a Pool and then ends: it must exit once the pool is
// terminated (or closed and joined), whatever its workers went through.
// Arguments: the backend, then "plain", "crash" or "timeout".
import { type Backend, Pool } from "../../mod.ts";
import * as targets from "./pool_targets.ts";

if (import.meta.main) {
  const [backend, mode] = Deno.args as [Backend, string];
  const pool = new Pool({ processes: 1, module: targets.MODULE, backend });
  console.log(`square: ${await pool.apply(targets.square, [3])}`);
  if (mode === "crash") {
    await pool.apply(targets.exitWith, [7]).catch((error) => console.log(`crash: ${error.name}`));
  } else if (mode === "timeout") {
    await pool.apply(targets.sleepy, [10_000, 0], { timeoutMs: 50 }).catch((e) =>
      console.log(`timeout: ${e.name}`)
    );
  }
  pool.close();
  await pool.join();
  console.log("main done");
}
