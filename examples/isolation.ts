// Each process has its own memory (seed 003, "进程间数据不共享"): the child
// sets x to 0 in its own copy of this module; the parent's x stays 100.
import { Process } from "../mod.ts";

let x = 100;

export function task(): void {
  x = 0;
  console.log(`child: x is now ${x}`);
}

if (import.meta.main) {
  const p = new Process({ target: task });
  await p.start();
  await p.join();
  console.log(`main: x is still ${x}`);
}
