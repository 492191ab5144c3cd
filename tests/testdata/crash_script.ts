// A child that throws: its stack goes to stderr under its name; the parent carries on.
import { Process } from "../../mod.ts";

export function boom(): void {
  throw new Error("boom in child");
}

if (import.meta.main) {
  const p = new Process({ target: boom });
  await p.start();
  await p.join();
  console.log(`parent alive after crash: exitCode=${p.exitCode}`);
}
