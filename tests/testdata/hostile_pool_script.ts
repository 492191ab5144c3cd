/**
 * A pool whose worker sends back what is no outcome: the worker is killed
 * with one report, the task fails as with any crash, and the pool (and its
 * process) go on. Prints what it saw as JSON on stdout.
 */

import { Pool } from "../../mod.ts";
import { MODULE, nested, poolDepth, sabotage } from "./hostile_targets.ts";

await using pool = new Pool({ processes: 1, module: MODULE });
let sabotaged: string;
try {
  await pool.apply(sabotage, []);
  sabotaged = "resolved";
} catch (error) {
  sabotaged = `${(error as Error).name}: ${(error as Error).message}`;
}
const after = await pool.apply(poolDepth, [nested(3)]);
console.log(JSON.stringify({ sabotaged, after }));
