// Several processes started, then joined: they run side by side (seed 003,
// "多个子进程的运行"; seed 001, active_children and cpu_count).
import { activeChildren, cpuCount, Process } from "../mod.ts";

export async function task(label: string, seconds: number): Promise<void> {
  console.log(`${label} is running`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  console.log(`${label} is done`);
}

if (import.meta.main) {
  const start = performance.now();
  const processes = [1, 2, 3].map((i) => new Process({ target: task, args: [`Processing-${i}`, i * 0.3] }));
  // Start them all first, then join: joining inside the loop would run them one by one.
  for (const p of processes) await p.start();
  console.log(`The number of CPUs is ${cpuCount()}`);
  for (const p of activeChildren()) console.log(`child ${p.name} pid ${p.pid}`);
  for (const p of processes) await p.join();
  const seconds = (performance.now() - start) / 1000;
  console.log(`3 processes sleeping 0.3 + 0.6 + 0.9 s took ${seconds.toFixed(2)} s: they ran in parallel`);
}
