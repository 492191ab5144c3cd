/**
 * The benchmark's pool rows: troupe's Pool against Piscina (on Node),
 * against raw Deno workers fed by postMessage, and against Python's
 * multiprocessing.Pool; the CPU speedup; and a crash storm.
 */

import { activeChildren, Pool, WorkerCrashedError } from "../mod.ts";
import { pythonSamples } from "./_python.ts";

const here = (path: string) => new URL(path, import.meta.url);
const module = here("./_pool_targets.ts").href;
const { fib, square } = await import("./_pool_targets.ts");

/**
 * Tasks per throughput sample, and how many are in flight at once. 50k tasks are five windows deep, so
 * filling and draining the window weigh little: over 12 interleaved pairs the medians at 50k and 100k
 * were 4.37 and 4.30 µs for the pool, 12.2 and 13.2 µs for raw workers, and Piscina's samples sit at
 * 43–47 µs at either size (settling after its first sample at either size).
 * Half the tasks halve these rows, Piscina's half a minute above all.
 */
export const TASKS = 50_000;
export const WINDOW = 10_000;
/** Items in the map rows. */
export const ITEMS = 1_000_000;

/** Runs `tasks` tasks through `submit`, at most WINDOW in flight; µs per task. */
function throughput(submit: (i: number) => Promise<unknown>, tasks = TASKS): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let submitted = 0, done = 0;
    const more = () => {
      while (submitted < tasks && submitted - done < WINDOW) {
        submit(submitted++).then(() => {
          if (++done === tasks) resolve((performance.now() - t0) * 1000 / tasks);
          else more();
        }, reject);
      }
    };
    more();
  });
}

/** Trivial tasks through a troupe pool of 2 workers, as `applyAsync(...).get()`. */
export function troupeApplyAsync(
  backend: "worker" | "subprocess",
  tasks = TASKS,
): { sample: () => Promise<number>; close: () => Promise<void> } {
  const pool = new Pool({ processes: 2, module, backend });
  return {
    sample: () => throughput((i) => pool.applyAsync(square, [i]).get(), tasks),
    close: () => pool.terminate(),
  };
}

/** Trivial tasks through two raw workers, round robin, one postMessage each way per task. */
export function rawWorkers(): { sample: () => Promise<number>; close: () => void } {
  const workers = [0, 1].map(() => new Worker(here("./_raw_pool_worker.ts"), { type: "module" }));
  const pending = new Map<number, (value: number) => void>();
  for (const worker of workers) {
    worker.onmessage = ({ data: [id, value] }: MessageEvent<[number, number]>) => {
      pending.get(id)!(value);
      pending.delete(id);
    };
  }
  let next = 0;
  return {
    sample: () =>
      throughput((i) =>
        new Promise((resolve) => {
          const id = next++;
          pending.set(id, resolve);
          workers[id % 2]!.postMessage([id, i]);
        })
      ),
    close: () => workers.forEach((worker) => worker.terminate()),
  };
}

/** A million trivial items through `pool.map` with Python's default chunking; µs per item. */
export function troupeMap(): { sample: () => Promise<number>; close: () => Promise<void> } {
  const pool = new Pool({ processes: 2, module });
  const items = Array.from({ length: ITEMS }, (_, i) => i);
  return {
    async sample() {
      const t0 = performance.now();
      const results = await pool.map(square, items);
      if (results.length !== ITEMS || results[ITEMS - 1] !== (ITEMS - 1) ** 2) throw new Error("wrong map");
      return (performance.now() - t0) * 1000 / ITEMS;
    },
    close: () => pool.terminate(),
  };
}

/** The same million items mapped in this isolate, the floor a pool competes with; µs per item. */
export function sequentialMap(): Promise<number> {
  const items = Array.from({ length: ITEMS }, (_, i) => i);
  const t0 = performance.now();
  items.map((x) => square(x));
  return Promise.resolve((performance.now() - t0) * 1000 / ITEMS);
}

/** CPU-bound tasks (fib(32) × 4 per core, ~20 ms each): in this isolate, and on a pool of `cpus` workers; ms. */
export function cpuBound(cpus: number): {
  sequential: () => Promise<number>;
  pooled: () => Promise<number>;
  close: () => Promise<void>;
} {
  const inputs = Array.from({ length: 4 * cpus }, () => 32);
  const pool = new Pool({ processes: cpus, module });
  return {
    sequential() {
      const t0 = performance.now();
      inputs.map((n) => fib(n));
      return Promise.resolve(performance.now() - t0);
    },
    async pooled() {
      const t0 = performance.now();
      await pool.map(fib, inputs, 1);
      return performance.now() - t0;
    },
    close: () => pool.terminate(),
  };
}

/** What the crash storm saw. */
export interface StormReport {
  tasks: number;
  succeeded: number;
  crashed: number;
  /** Tasks whose result never settled, or settled twice: must be zero. */
  lostOrDoubled: number;
  kills: number;
  usPerTask: number;
}

/** `tasks` trivial tasks while a worker is killed every `everyMs`: every result must settle once. */
export async function crashStorm(tasks = 100_000, everyMs = 100): Promise<StormReport> {
  const pool = new Pool({ processes: 2, module, intensity: Infinity });
  let kills = 0;
  const killer = setInterval(() => {
    const workers = pool.stats().workers.filter((worker) => worker.ready);
    const victim = workers[kills % Math.max(1, workers.length)];
    // A pool's workers are children of this process like any other: find the victim by name.
    const process = victim && activeChildren().find((child) => child.name === victim.name);
    if (process) {
      process.kill();
      kills++;
    }
  }, everyMs);
  const settled = new Uint8Array(tasks);
  let succeeded = 0, crashed = 0;
  const t0 = performance.now();
  await throughput(
    (i) =>
      pool.applyAsync(square, [i]).get().then(() => {
        settled[i]!++;
        succeeded++;
      }, (error) => {
        settled[i]!++;
        if (!(error instanceof WorkerCrashedError)) throw error;
        crashed++;
      }),
    tasks,
  );
  const usPerTask = (performance.now() - t0) * 1000 / tasks;
  clearInterval(killer);
  await pool.terminate();
  return {
    tasks,
    succeeded,
    crashed,
    lostOrDoubled: settled.filter((n) => n !== 1).length,
    kills,
    usPerTask,
  };
}

/** Python's Pool: "apply_async" (µs per task) or "map" (µs per item); undefined without python3. */
export function pythonPool(
  mode: "apply_async" | "map",
  n: number,
  runs: number,
): Promise<number[] | undefined> {
  return pythonSamples("./_python_pool.py", [mode, String(n), String(runs)]);
}

/** Piscina's samples (µs per task), run with Node; undefined if Node or Piscina is missing. */
export async function piscinaSamples(runs: number): Promise<number[] | undefined> {
  try {
    if (!await exists(here("./node/node_modules/piscina/package.json"))) {
      const install = await new Deno.Command("npm", {
        args: ["install", "--no-audit", "--no-fund", "--silent"],
        cwd: here("./node").pathname,
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
      }).output();
      if (!install.success) return undefined;
    }
    const { code, stdout } = await new Deno.Command("node", {
      args: [here("./node/piscina.mjs").pathname, String(TASKS), String(WINDOW), String(runs)],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).output();
    return code === 0 ? JSON.parse(new TextDecoder().decode(stdout)) : undefined;
  } catch {
    return undefined; // no Node or npm here: the row is skipped
  }
}

async function exists(path: URL): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
