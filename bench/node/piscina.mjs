// Piscina's trivial-task throughput, for the benchmark table: prints the
// samples (µs per task) as JSON. Usage: node piscina.mjs <tasks> <window> <runs>
import { Piscina } from "piscina";

const [tasks, window, runs] = process.argv.slice(2).map(Number);
const pool = new Piscina({
  filename: new URL("./piscina_worker.mjs", import.meta.url).href,
  minThreads: 2,
  maxThreads: 2,
});

/** Runs `tasks` tasks with at most `window` in flight; µs per task. */
async function sample() {
  const t0 = performance.now();
  let submitted = 0;
  await new Promise((resolve, reject) => {
    let done = 0;
    const more = () => {
      while (submitted < tasks && submitted - done < window) {
        pool.run(submitted++).then(() => {
          if (++done === tasks) resolve();
          else more();
        }, reject);
      }
    };
    more();
  });
  return (performance.now() - t0) * 1000 / tasks;
}

// One warm-up sample: Piscina's first is ~10% slow, and the second already matches the rest (at 50k
// and at 100k tasks a sample), so a second warm-up only cost time.
const samples = [];
for (let i = 0; i < runs + 1; i++) samples.push(await sample());
await pool.destroy();
console.log(JSON.stringify(samples.slice(1)));
