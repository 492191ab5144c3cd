// Daemon versus non-daemon children (seed 004, "守护进程").
// As in Python, when the main module is done its daemon children are
// terminated, then the program waits for the others: task1, a daemon, never
// ends its work, though it needs less time than task2.
import { Process } from "../mod.ts";

export async function run(key: string, seconds: number): Promise<void> {
  console.log(`${key} starts`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  console.log(`${key} ends`);
}

if (import.meta.main) {
  const daemon = new Process({ target: run, args: ["task1 (daemon)", 0.5], daemon: true });
  const worker = new Process({ target: run, args: ["task2", 1], daemon: false });
  await daemon.start();
  await worker.start();
  console.log("main process is done");
  // Here task1 is terminated; task2 ends a second later, and the program with it.
}
