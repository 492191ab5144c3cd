// Daemon versus non-daemon children (seed 004, "守护进程").
// As in Python, when the main module is done the daemon child is terminated
// (it does not finish its work), and the program waits for the other child.
import { Process } from "../mod.ts";

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
  daemon.exited.then((code) => console.log(`task1 (daemon) exited with code ${code}`));
  worker.exited.then((code) => console.log(`task2 exited with code ${code}`));
  console.log("main process is done");
  // Here the daemon is terminated (-15, it never ends its work), task2 ends half a second later, and the
  // program with it.
}
