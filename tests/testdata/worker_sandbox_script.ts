// Run with --unstable-worker-options: a worker child gets a sandbox of its own.
import { Process } from "../../mod.ts";

export async function probe(file: string): Promise<void> {
  try {
    await Deno.readTextFile(file);
    console.log("read allowed");
  } catch (error) {
    console.log(`read refused: ${(error as Error).name}`);
  }
  try {
    Deno.env.get("HOME");
    console.log("env allowed");
  } catch (error) {
    console.log(`env refused: ${(error as Error).name}`);
  }
}

if (import.meta.main) {
  const p = new Process({ target: probe, args: [Deno.args[0]!], permissions: { read: false, env: false } });
  await p.start();
  await p.join();
  console.log(`exitCode=${p.exitCode}`);
}
