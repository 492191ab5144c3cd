// A subprocess child prints on stdout and stderr while protocol messages flow.
import { Process } from "../../mod.ts";
import { chatter, MODULE } from "./targets.ts";

const p = new Process({ target: chatter, args: [100], module: MODULE, backend: "subprocess" });
await p.start();
await p.join();
console.log(`exitCode=${p.exitCode}`);
