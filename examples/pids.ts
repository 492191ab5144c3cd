// Process ids from both sides (seed 003, "pid": os.getpid and os.getppid).
// Worker processes are isolates inside this OS process and share its pid;
// subprocess ones are OS processes of their own.
import { currentProcess, parentProcess, Process } from "../mod.ts";

export function task(): void {
  console.log(
    `  child ${currentProcess().name}: my pid is ${Deno.pid}, my parent's is ${parentProcess()?.pid}`,
  );
}

if (import.meta.main) {
  console.log(`main: my pid is ${Deno.pid}`);
  for (const backend of ["worker", "subprocess"] as const) {
    const p = new Process({ target: task, backend });
    await p.start();
    console.log(`main: started a ${backend} child, its pid is ${p.pid}`);
    await p.join();
  }
}
