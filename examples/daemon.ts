// Daemon versus non-daemon children (seed 004, "守护进程").
// Python terminates daemon children when the main module ends, then joins the
// others. troupe ends a daemon with the program (it never keeps it running);
// shutdown() does Python's whole rule at once, so the exit codes can be shown.
import { Process, shutdown } from "../mod.ts";

export async function run(key: string, seconds: number): Promise<void> {
  console.log(`${key} starts`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  console.log(`${key} ends`);
}

if (import.meta.main) {
  const daemon = new Process({ target: run, args: ["task1 (daemon)", 2], daemon: true });
  const worker = new Process({ target: run, args: ["task2", 0.5], daemon: false });
  await daemon.start();
  await worker.start();
  console.log("main process is done");
  await shutdown(); // terminates the daemon, waits for task2
  console.log(`daemon exitCode=${daemon.exitCode}, task2 exitCode=${worker.exitCode}`);
}
