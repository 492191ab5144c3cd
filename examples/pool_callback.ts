// Callbacks of `applyAsync` (seed 003, "进程池": Foo and Bar on Pool(2); seed 004,
// "回掉函数": work and callback_work on Pool(3)). The task runs in a worker; its
// callback runs in the main process, with the task's value, as soon as that
// task is done. The workers are OS processes (`backend: "subprocess"`) so that
// their pids differ from the main one, as in Python.
import { currentProcess, Pool } from "../mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Who is printing: the process name and the OS pid. */
function me(): string {
  return `${currentProcess().name} pid=${Deno.pid}`;
}

/** Where the callbacks ran, checked at the end. */
const callbacksRanIn = new Set<string>();

// Seed 003: def Foo(i): time.sleep(2); print('in the pool', os.getpid()); return i + 100
export async function foo(i: number): Promise<number> {
  await sleep(100); // time.sleep(2), shortened
  console.log(`  in the pool: ${me()}`);
  return i + 100;
}

// Seed 003: def Bar(arg): print('exec done'.center(16, '-'), arg, os.getpid())
function bar(arg: number): void {
  callbacksRanIn.add(me());
  console.log(`  ---exec done---- ${arg} ${me()}`);
}

// Seed 004: def work(key, n), sleeping random.randrange(1, 5) s, here 100 to 400 ms.
export async function work(key: string, n: number): Promise<number> {
  console.log(`  ${me()} start run ${key}`);
  await sleep(100 * (1 + Math.floor(Math.random() * 4)));
  console.log(`  ${me()} end run ${key}`);
  return n ** 2;
}

// Seed 004: def callback_work(n): print('pid={pid} callback_work'.format(pid=os.getpid()), n)
function callbackWork(n: number): void {
  callbacksRanIn.add(me());
  console.log(`  ${me()} callback_work ${n}`);
}

if (import.meta.main) {
  // Seed 003: ten Foo tasks with the callback Bar, and ten without.
  const pool = new Pool({ processes: 2, backend: "subprocess" }); // pool = Pool(processes=2)
  console.log(`---main--- ${me()}`);
  const withCallback = [];
  for (let i = 0; i < 10; i++) {
    withCallback.push(pool.applyAsync(foo, [i], { callback: bar })); // apply_async(func=Foo, args=(i,), callback=Bar)
    pool.applyAsync(foo, [i]); // apply_async(func=Foo, args=(i,)): no callback
  }
  console.log("end"); // printed at once: applyAsync does not wait
  pool.close();
  await pool.join(); // waits until the workers have run every task and exited
  const values = [];
  for (const result of withCallback) values.push(await result.get());
  console.log(`seed 003: Bar got ${JSON.stringify(values)}`);

  // Seed 004: five work tasks whose results go to callback_work.
  const pool2 = new Pool({ processes: 3, backend: "subprocess" }); // pool = Pool(3)
  const resLst = [];
  for (let i = 0; i < 5; i++) {
    resLst.push(pool2.applyAsync(work, [`work${i}`, i], { callback: callbackWork }));
  }
  pool2.close();
  await pool2.join();
  console.log(`main: ${me()}`); // print('主进程: pid={}'.format(os.getpid()))
  // The same values went to callback_work already: get() is not needed for them.
  const squares = [];
  for (const res of resLst) squares.push(await res.get());
  console.log(`seed 004: get() gives ${JSON.stringify(squares)} too`);

  const main = me();
  if (callbacksRanIn.size !== 1 || !callbacksRanIn.has(main)) {
    console.log(`EXPECTED EVERY CALLBACK IN ${main}, GOT ${[...callbacksRanIn].join(", ")}`);
    Deno.exit(1);
  }
  console.log(`all 15 callbacks ran in the main process (${main}), none in a worker`);
}
