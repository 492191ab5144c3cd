// A function target with arguments (seed 003, "方式一"; seed 004, "直接调用").
// Python's kwargs become one object argument.
import { currentProcess, Process } from "../mod.ts";

export async function task(name: string, extra: { args3: string; args4: string }): Promise<void> {
  console.log(`${name} is running in ${currentProcess().name} with`, extra);
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.log(`${name} is done`);
}

if (import.meta.main) {
  const p = new Process({ target: task, args: ["we", { args3: "x3", args4: "x4" }] });
  await p.start(); // the child is running `task` once this resolves
  console.log("main process goes on while the child works");
  await p.join();
  console.log(`${p.name} exited with code ${p.exitCode}`);
}
