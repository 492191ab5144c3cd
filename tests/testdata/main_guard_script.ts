// The child imports the main module: top-level code runs again there, the guarded block does not.
import { currentProcess, Process } from "../../mod.ts";

console.log(`top-level ran in ${currentProcess().name}`);

export function report(): void {
  console.log(`target ran in ${currentProcess().name}, import.meta.main=${import.meta.main}`);
}

if (import.meta.main) {
  console.log("main block ran");
  const p = new Process({ target: report });
  await p.start();
  await p.join();
}
