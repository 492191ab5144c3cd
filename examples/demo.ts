// troupe's demo: CPU-bound work (counting primes) spread over one process per
// core, against the same work in the main isolate alone. The children write
// their counts into shared memory: a SharedArrayBuffer passed in args is
// shared with worker processes, not copied. (A later release grows this demo
// into a supervised Pool that survives a worker being killed.)
import { cpuCount, Process } from "../mod.ts";

const LIMIT = 6_000_000;

function countPrimes(from: number, to: number): number {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

export function countSlice(results: Int32Array, index: number, from: number, to: number): void {
  const started = performance.now();
  results[index] = countPrimes(from, to);
  console.log(
    `  slice ${index} [${from}, ${to}): ${results[index]} primes in ${
      (performance.now() - started).toFixed(0)
    } ms`,
  );
}

export function countAssigned(results: Int32Array, worker: number, workers: number, bounds: number[]): void {
  for (let slice = worker; slice < bounds.length - 1; slice += workers) {
    countSlice(results, slice, bounds[slice]!, bounds[slice + 1]!);
  }
}

if (import.meta.main) {
  const processes = cpuCount();
  console.log(`Counting primes below ${LIMIT.toLocaleString("en")}`);

  let started = performance.now();
  const serialCount = countPrimes(0, LIMIT);
  const serialMs = performance.now() - started;
  console.log(`one isolate: ${serialCount} primes in ${serialMs.toFixed(0)} ms`);

  // Interleaved slices balance the work: primes thin out and tests get dearer as n grows.
  const slices = processes * 4;
  const results = new Int32Array(new SharedArrayBuffer(slices * 4));
  const bounds = Array.from({ length: slices + 1 }, (_, i) => Math.round((LIMIT * i) / slices));
  started = performance.now();
  const workers: Process[] = [];
  for (let w = 0; w < processes; w++) {
    workers.push(new Process({ target: countAssigned, args: [results, w, processes, bounds] }));
  }
  for (const p of workers) await p.start();
  for (const p of workers) await p.join();
  const parallelMs = performance.now() - started;
  const parallelCount = results.reduce((a, b) => a + b, 0);

  console.log(`${processes} processes: ${parallelCount} primes in ${parallelMs.toFixed(0)} ms`);
  console.log(
    `speedup ${(serialMs / parallelMs).toFixed(2)}x on ${processes} cores` +
      (parallelCount === serialCount ? ", same answer" : ", DIFFERENT ANSWER"),
  );
  if (parallelCount !== serialCount) Deno.exit(1);
}
