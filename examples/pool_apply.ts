// Synchronous `apply` against asynchronous `applyAsync` (seed 004, "同步调用apply" and
// "异步调用apply_async"; also the pool steps of seed 002 and the apply/apply_async notes
// of seed 000). Both programs run `work(key, n)` five times on `Pool(3)`.
// `apply` waits for each result before it sends the next task, so the tasks
// run one after another; `applyAsync` hands them all out at once, and the
// three workers run them side by side. The workers are OS processes
// (`backend: "subprocess"`) so that, as in Python, each prints a pid of its
// own; the default backend runs them as isolates that share this pid.
import { Pool } from "../mod.ts";

/**
 * The seed's `random.randrange(1, 5)` seconds, shortened to 100 to 400 ms and
 * scrambled from `n` rather than drawn: both programs then sleep the same,
 * so the comparison of their times at the end holds on every run.
 */
function sleepFor(n: number): Promise<void> {
  const ms = 100 * (1 + (n * 7) % 4);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// def work(key, n):
export async function work(key: string, n: number): Promise<number> {
  const pid = Deno.pid;
  console.log(`  pid=${pid} start run ${key}`);
  await sleepFor(n);
  console.log(`  pid=${pid} end run ${key}`);
  return n ** 2;
}

/**
 * Waits until every worker has started, so that the timings measure the
 * tasks rather than the start of three `deno` processes (Python's workers
 * start in a few ms; these take a few hundred).
 */
async function started(pool: Pool): Promise<void> {
  while (!pool.stats().workers.every((worker) => worker.ready)) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

if (import.meta.main) {
  console.log(`main: pid=${Deno.pid}`);

  // The synchronous program: pool.apply() blocks until its task is done.
  const pool = new Pool({ processes: 3, backend: "subprocess" }); // pool = Pool(3)
  await started(pool);
  let t0 = performance.now();
  const resLst: number[] = [];
  for (let i = 0; i < 5; i++) {
    resLst.push(await pool.apply(work, [`work${i}`, i])); // res = pool.apply(work, args=(...))
  }
  pool.close();
  await pool.join();
  const serialMs = performance.now() - t0;
  console.log(`apply: ${JSON.stringify(resLst)} in ${(serialMs / 1000).toFixed(2)} s, one task at a time`);

  // The asynchronous program: pool.apply_async() returns an AsyncResult at once.
  const pool2 = new Pool({ processes: 3, backend: "subprocess" });
  await started(pool2);
  t0 = performance.now();
  const results = [];
  for (let i = 0; i < 5; i++) {
    results.push(pool2.applyAsync(work, [`work${i}`, i])); // res = pool.apply_async(work, args=(...))
  }
  console.log("main: all 5 tasks submitted, none finished yet");
  // close() before join(), as Python requires: no new tasks, then wait for the workers.
  pool2.close();
  await pool2.join();
  const values = [];
  for (const res of results) values.push(await res.get()); // print(res.get())
  const parallelMs = performance.now() - t0;
  console.log(`applyAsync: ${JSON.stringify(values)} in ${(parallelMs / 1000).toFixed(2)} s`);

  // Sleeps of 100, 400, 300, 200 and 100 ms: 1.1 s one after another, about
  // 0.4 s on three workers (the 400 ms task alone, or 300 then 100).
  if (!(parallelMs < 0.8 * serialMs)) {
    console.log(`EXPECTED applyAsync (${parallelMs} ms) TO BEAT apply (${serialMs} ms) CLEARLY`);
    Deno.exit(1);
  }
  console.log("applyAsync ran them in parallel; apply ran them one after another");
}
