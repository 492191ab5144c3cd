// A main module with a top-level await before its exports are initialized,
// as a module that loads its configuration or opens a database does. The
// child imports this module again and must not run the target before the
// module has finished: the target reads a binding made after the await.
import { Process } from "../../mod.ts";

// Not a synchronization: the test needs the module to be still waiting when
// the child's launch message arrives, which takes a few milliseconds.
await new Promise((resolve) => setTimeout(resolve, 200));
const config = { greeting: "initialized" };

export function target(): void {
  console.log(`child sees: ${config.greeting}`);
}

if (import.meta.main) {
  for (const backend of ["worker", "subprocess"] as const) {
    const p = new Process({ target, backend });
    await p.start();
    await p.join();
    console.log(`${backend} exit code ${p.exitCode}`);
  }
}
