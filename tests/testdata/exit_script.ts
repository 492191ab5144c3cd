// How a program with children ends, by mode: "shutdown", "natural" or "deno-exit".
import { Process, shutdown } from "../../mod.ts";

export function forever(): Promise<void> {
  console.log("daemon started");
  return new Promise(() => setInterval(() => {}, 1000));
}

export async function slowWorker(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.log("worker done");
}

if (import.meta.main) {
  const mode = Deno.args[0];
  const worker = new Process({ target: slowWorker });
  await worker.start();
  if (mode === "natural") {
    console.log("main done");
  } else {
    const daemon = new Process({ target: forever, daemon: true });
    await daemon.start();
    if (mode === "deno-exit") Deno.exit(3);
    await shutdown();
    console.log(`main done: daemon exitCode=${daemon.exitCode}, worker exitCode=${worker.exitCode}`);
  }
}
