// A parent whose switchboard is flooded with silent connections until it runs out of file descriptors
// (the test runs it under a low `ulimit -n`): it must keep running and start children afterwards.
// Prints the switchboard's port, waits for a line on stdin, then starts a child and prints its exit code.
import { Process } from "../../mod.ts";
import * as host from "../../src/runtime/_host_subprocess.ts";
import { MODULE, noop } from "./targets.ts";

const backend = "subprocess";
const opener = new Process({ target: noop, module: MODULE, backend });
await opener.start();
await opener.join();
// Silent connections are closed soon, so the flood drains (where there is a limit to lower).
const limits = (host as Record<string, unknown>).switchboardLimits as { handshakeMs: number } | undefined;
if (limits) limits.handshakeMs = 100;
console.log(host.switchboardPort());
for await (const _chunk of Deno.stdin.readable) break;
if (limits) limits.handshakeMs = 10_000;
const p = new Process({ target: noop, module: MODULE, backend });
await p.start();
await p.join();
console.log(`exitCode=${p.exitCode}`);
