/** Targets for the benchmark's troupe rows. */

/** Returns at once: the cost measured is troupe's alone. */
export function empty(): void {}

/** Runs until terminated, so start() can be timed without the exit. */
export function idle(): Promise<void> {
  return new Promise(() => setInterval(() => {}, 60_000));
}

/** Starts a grandchild `runs` times and writes how long each start() took, in ms, to `path`. */
export async function timeGrandchildStarts(path: string, runs: number): Promise<void> {
  const { Process } = await import("../mod.ts");
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const kid = new Process({ target: idle, module: import.meta.url });
    await kid.start();
    samples.push(performance.now() - t0);
    kid.terminate();
    await kid.join();
  }
  await Deno.writeTextFile(path, JSON.stringify(samples));
}
