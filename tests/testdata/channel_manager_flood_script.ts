// A manager flooded with connections that never pass its handshake, until its process runs out of file
// descriptors (the test runs this under a low `ulimit -n`). Prints the manager's address, waits for a line
// on stdin, then shuts the manager down and prints "done".
import { Manager } from "../../mod.ts";

await using manager = await new Manager({ authkey: Deno.args[0]! }).start();
console.log(JSON.stringify(manager.address));
for await (const _chunk of Deno.stdin.readable) break;
await manager.shutdown();
console.log("done");
