// A sandboxed child: an OS process without read permission is refused a
// file read, while the parent reads the same file. A child never gets more
// permissions than its parent holds.
import { Process } from "../mod.ts";

export async function readSecret(path: string): Promise<void> {
  try {
    await Deno.readTextFile(path);
    console.log("child: read the file");
  } catch (error) {
    console.log(`child: refused: ${(error as Error).name}: ${(error as Error).message}`);
  }
}

if (import.meta.main) {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "secret");
  console.log(`main: the file says "${await Deno.readTextFile(path)}"`);
  const p = new Process({
    target: readSecret,
    args: [path],
    backend: "subprocess",
    permissions: { read: false, write: false, net: false, env: false, run: false },
  });
  await p.start();
  await p.join();
  console.log(`main: the child exited with code ${p.exitCode}`);
  await Deno.remove(path);
}
