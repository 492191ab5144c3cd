// Starts a process at module level, outside `if (import.meta.main)`: the child
// re-imports this module, and its start() there must fail, not fork again.
import { Process } from "../../mod.ts";

export function work(): void {}

const p = new Process({ target: work });
const started = p.start();
if (import.meta.main) {
  await started.catch((error) => console.log(`start failed: ${error.message}`));
  await p.join();
  console.log(`exitCode=${p.exitCode}`);
}
