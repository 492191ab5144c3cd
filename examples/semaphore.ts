// A semaphore (seed 002, "信号量（信号灯集）": `sem = Semaphore(num)`,
// `sem.acquire()` takes one and waits at 0, `sem.release()` gives one back,
// `sem.get_value()`): a service that lets at most 3 processes run at once.
// Five processes want to run; each takes a unit before it runs and gives it
// back when done (`using _slot = await sem.hold()`, Python's `with sem:`).
// Python's `sleep(3)` is shortened to 200 ms. The workers share this OS
// process, so they print their names where Python prints `os.getpid()`.
//
// To show the limit, each counts itself in and out of a shared counter
// (with Atomics) and keeps the peak; a start Event lets all five ask at the
// same moment, as Python's forked children do, however long each took to
// start.
import { currentProcess, Event, Process, RawArray, Semaphore } from "../mod.ts";

const LIMIT = 3;
const PROCESSES = 5;
const RUNNING = 0; // counts[0]: how many run now
const PEAK = 1; // counts[1]: the most that ran at once

// def handle():
export async function handle(sem: Semaphore, counts: RawArray<"i">, go: Event): Promise<void> {
  const name = currentProcess().name;
  await go.wait();
  console.log(`${name} wants to run`);
  {
    using _slot = await sem.hold(); // sem.acquire() ... sem.release()
    const cells = counts.getObj();
    const running = Atomics.add(cells, RUNNING, 1) + 1;
    // The peak only grows: raise it to `running` unless another process raised it further.
    for (let peak = Atomics.load(cells, PEAK); peak < running;) {
      const seen = Atomics.compareExchange(cells, PEAK, peak, running);
      if (seen === peak) break;
      peak = seen;
    }
    console.log(`${name} runs (${running} running)`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // sleep(3)
    Atomics.sub(cells, RUNNING, 1);
    console.log(`${name} is done`);
  }
}

if (import.meta.main) {
  const sem = new Semaphore(LIMIT); // sem = Semaphore(3)
  const counts = new RawArray("i", 2);
  const go = new Event();
  console.log(`main: ${sem}`);

  const jobs: Process[] = [];
  for (let i = 1; i <= PROCESSES; i++) {
    const p = new Process({ target: handle, args: [sem, counts, go], name: `handle-${i}` });
    jobs.push(p);
    await p.start();
  }
  go.set();
  for (const p of jobs) await p.join();

  const peak = counts.get(PEAK);
  if (peak > LIMIT) {
    console.log(`EXPECTED AT MOST ${LIMIT} AT ONCE, BUT ${peak} RAN`);
    Deno.exit(1);
  }
  console.log(`main: at most ${LIMIT} ran at once: the peak was ${peak} of ${PROCESSES}`);
  console.log(`main: sem.getValue() = ${sem.getValue()}`); // print(sem.get_value())
}
