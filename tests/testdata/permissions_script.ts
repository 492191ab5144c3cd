// Run with --allow-read --allow-write --allow-run and nothing else: children get no more.
import { Process } from "../../mod.ts";
import { MODULE, noop } from "./targets.ts";

try {
  new Process({ target: noop, module: MODULE, backend: "subprocess", permissions: { net: true } });
} catch (error) {
  console.log(`${(error as Error).name}: ${(error as Error).message}`);
}
try {
  new Process({ target: noop, module: MODULE, backend: "subprocess", permissions: { env: ["HOME"] } });
} catch (error) {
  console.log(`${(error as Error).name}: ${(error as Error).message}`);
}
export function probe(): void {
  const states = ["read", "write", "run", "net", "env"].map((name) =>
    `${name}=${Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state}`
  );
  console.log(`child holds ${states.join(" ")}`);
}
if (import.meta.main) {
  const p = new Process({ target: probe, backend: "subprocess" });
  await p.start();
  await p.join();
}
