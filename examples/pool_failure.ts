// One task's failure does not affect the others (seed 004, "池中的某个进程异常退出,
// 不影响其它进程正常运行": work(key, except_test) on Pool(2); the seed passes
// except_test but never uses it, so here it throws as intended). Of four
// tasks, one throws, one kills its worker in the middle of the task with
// Deno.exit(3), and two succeed; afterwards the pool runs tasks as before.
//
// Where troupe departs from Python: a Python pool whose worker dies
// mid-task replaces the worker but loses the task, whose get() then waits
// forever (and so does a map containing it). troupe fails just that task with
// WorkerCrashedError, carrying the exit code, and replaces the worker.
import { currentProcess, Pool, WorkerCrashedError } from "../mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// def work(key, except_test=False):
export async function work(key: string, exceptTest = false): Promise<string> {
  console.log(`  ${currentProcess().name} start run ${key}`);
  await sleep(300); // time.sleep(5), shortened
  if (exceptTest) throw new RangeError(`${key} failed on purpose`);
  console.log(`  ${currentProcess().name} end run ${key}`);
  return `${key} done`;
}

/** Dies in the middle of its task, as a segfault or an OOM kill would. */
export async function crash(key: string): Promise<string> {
  console.log(`  ${currentProcess().name} start run ${key}, and will exit in the middle of it`);
  await sleep(150);
  Deno.exit(3);
}

export function square(x: number): number {
  return x * x;
}

if (import.meta.main) {
  const pool = new Pool(2); // pool = Pool(2)
  const errorsSeen: string[] = [];
  const errorCallback = (error: unknown) => errorsSeen.push((error as Error).name);
  const tasks = {
    work1: pool.applyAsync(work, ["work1", false], { errorCallback }), // apply_async(work, args=('work1', False))
    work2: pool.applyAsync(work, ["work2", true], { errorCallback }), // apply_async(work, args=('work2', True))
    work3: pool.applyAsync(crash, ["work3"], { errorCallback }),
    work4: pool.applyAsync(work, ["work4", false], { errorCallback }),
  };
  for (const [key, result] of Object.entries(tasks)) {
    try {
      console.log(`${key}: succeeded: ${await result.get()}`);
    } catch (error) {
      if (error instanceof WorkerCrashedError) {
        console.log(`${key}: its worker died: ${error.name} (exit code ${error.exitCode})`);
      } else {
        console.log(`${key}: threw: ${(error as Error).name}: ${(error as Error).message}`);
      }
    }
  }
  console.log(`errorCallback was called for: ${errorsSeen.sort().join(", ")}`);

  // The pool replaced the dead worker and goes on.
  console.log(`the pool still works: ${JSON.stringify(await pool.map(square, [1, 2, 3, 4, 5]))}`);
  const { completed, failed, restarts } = pool.stats();
  console.log(`stats: completed=${completed} failed=${failed} restarts=${restarts}`);

  pool.close();
  await pool.join();
  console.log("main exits"); // print('主进程退出')
}
