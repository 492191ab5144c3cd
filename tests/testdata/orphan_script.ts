// Starts subprocess children (one with a child of its own), prints their pids, then waits to be killed.
import { Process } from "../../mod.ts";
import { forever, MODULE, spawnForever } from "./targets.ts";

const children = [
  new Process({ target: forever, module: MODULE, backend: "subprocess" }),
  new Process({ target: forever, module: MODULE, backend: "subprocess", daemon: true }),
  new Process({ target: spawnForever, module: MODULE, backend: "subprocess" }),
];
for (const child of children) {
  await child.start();
  console.log(`pid ${child.pid}`);
}
console.log("ready");
