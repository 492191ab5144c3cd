// troupe's demo: a CPU-bound job (counting the primes below 20 million, in
// 200 chunks) run in this one process, then on a Pool with one OS process per
// core. Partway through, the demo kills one pool worker with SIGKILL, as the
// kernel's OOM killer or a stray `kill -9` would: the pool starts a new worker
// in its place and runs the chunk it lost again (`retries: 1`), so the answer
// comes out complete and the same. A live progress bar on a terminal; plain
// lines when stdout is a file or a CI log.
//
//   deno task demo                      (or: deno task demo --limit=5000000)
import { cpuCount, currentProcess, Pool, ps } from "../mod.ts";

const CHUNKS = 200;

/** Counts the primes in [from, to) by trial division: slow on purpose, and all CPU. */
export function countPrimes(from: number, to: number): number {
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

/** One chunk's answer, and who counted it. */
export interface ChunkResult {
  chunk: number;
  primes: number;
  worker: string;
  pid: number;
}

/** The pool's task: one chunk, tagged with the worker that counted it. */
export function countChunk([chunk, from, to]: [number, number, number]): ChunkResult {
  return { chunk, primes: countPrimes(from, to), worker: currentProcess().name, pid: Deno.pid };
}

/** What the demo learns about each pool worker: from its answers, and from ps() every 250 ms. */
class WorkerRow {
  tasks = 0;
  restarts = 0;
  peakRss = 0;
  cpuSeconds = 0;
  constructor(readonly pid: number) {}
}

/** A progress bar redrawn in place on a terminal; a line per fifth of the work elsewhere. */
class Progress {
  readonly #tty = Deno.stdout.isTerminal();
  readonly #encoder = new TextEncoder();
  readonly #label: string;
  readonly #total: number;
  readonly #started = performance.now();
  #done = 0;
  #lastFifth = 0;

  constructor(label: string, total: number) {
    this.#label = label;
    this.#total = total;
    this.#draw();
  }

  update(done: number): void {
    this.#done = done;
    if (this.#tty) return this.#draw();
    const fifth = Math.floor((done / this.#total) * 5);
    if (fifth > this.#lastFifth) {
      this.#lastFifth = fifth;
      console.log(`${this.#label}: ${this.#line()}`);
    }
  }

  /** Prints `message` on a line of its own, above the bar. */
  note(message: string): void {
    if (this.#tty) this.#write("\r\x1b[K");
    console.log(message);
    this.#draw();
  }

  end(): void {
    if (this.#tty) this.#write("\n");
  }

  #line(): string {
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    const percent = Math.floor((this.#done / this.#total) * 100);
    return `${String(percent).padStart(3)}%  ${this.#done}/${this.#total} chunks  ${seconds} s`;
  }

  #draw(): void {
    if (!this.#tty) return;
    const width = 30;
    const filled = Math.round((this.#done / this.#total) * width);
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    this.#write(`\r\x1b[K${this.#label.padEnd(14)} ${bar} ${this.#line()}`);
  }

  #write(text: string): void {
    Deno.stdout.writeSync(this.#encoder.encode(text));
  }
}

function limitFromArgs(): number {
  const arg = Deno.args.find((a) => a.startsWith("--limit="));
  const limit = arg === undefined ? 20_000_000 : Number(arg.slice("--limit=".length));
  if (!Number.isSafeInteger(limit) || limit < CHUNKS) {
    console.error(`--limit must be an integer of at least ${CHUNKS}: got ${arg}`);
    Deno.exit(2);
  }
  return limit;
}

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

if (import.meta.main) {
  const limit = limitFromArgs();
  const processes = cpuCount();
  const chunks = Array.from({ length: CHUNKS }, (_, i): [number, number, number] => [
    i,
    Math.round((limit * i) / CHUNKS),
    Math.round((limit * (i + 1)) / CHUNKS),
  ]);
  console.log(
    `troupe demo: counting the primes below ${limit.toLocaleString("en")} in ${CHUNKS} chunks,\n` +
      `first in this process, then on a Pool of ${processes} OS processes (one per core)\n`,
  );

  // 1. The whole job in this one process.
  let progress = new Progress("one process", CHUNKS);
  let started = performance.now();
  let serialPrimes = 0;
  for (const [i, from, to] of chunks) {
    serialPrimes += countPrimes(from, to);
    progress.update(i + 1);
  }
  const serialMs = performance.now() - started;
  progress.end();

  // 2. The same job on the pool. Python's Pool would hang on a lost worker;
  // troupe's replaces it, and `retries: 1` runs the lost chunk again elsewhere.
  const pool = new Pool({ processes, backend: "subprocess", retries: 1 });
  const workers = new Map<string, WorkerRow>();
  const answered = new Set<number>();
  let poolPrimes = 0;
  let killed: string | undefined;
  let replacementSeen = false;
  progress = new Progress(`pool of ${processes}`, CHUNKS);
  started = performance.now();

  // Every 250 ms: ps() for each worker's memory and CPU time, and news of a restart.
  const rowFor = (name: string, pid: number) => {
    let row = workers.get(name);
    if (!row) workers.set(name, row = new WorkerRow(pid));
    return row;
  };
  const sample = async () => {
    for (const status of await ps()) {
      if (!status.name.startsWith("PoolWorker")) continue;
      const row = rowFor(status.name, status.pid);
      // Never null here: the pool's creator, this process, always answers.
      row.restarts = status.restarts ?? 0;
      row.peakRss = Math.max(row.peakRss, status.rss ?? 0);
      if (status.cpuTime) row.cpuSeconds = status.cpuTime.user + status.cpuTime.system;
      if (row.restarts > 0 && !replacementSeen) {
        replacementSeen = true;
        progress.note(`  ↻ the pool started ${status.name} (pid ${status.pid}) in its place`);
      }
    }
  };
  let sampling = sample();
  const sampler = setInterval(() => sampling = sampling.then(sample), 250);

  try {
    for await (const result of pool.imapUnordered(countChunk, chunks, 1)) {
      if (answered.has(result.chunk)) throw new Error(`chunk ${result.chunk} was answered twice`);
      answered.add(result.chunk);
      poolPrimes += result.primes;
      rowFor(result.worker, result.pid).tasks++;
      progress.update(answered.size);
      // Partway through, kill a busy worker from outside, as `kill -9 <pid>` would.
      if (killed === undefined && answered.size >= CHUNKS * 0.4) {
        const victim = pool.stats().workers.find((w) => w.pid !== null && w.assigned > 0);
        if (victim?.pid) {
          killed = victim.name;
          Deno.kill(victim.pid, "SIGKILL");
          progress.note(
            `  ✗ killed ${victim.name} (pid ${victim.pid}) with SIGKILL while it was counting a chunk`,
          );
        }
      }
    }
  } finally {
    clearInterval(sampler);
    // One last look while every worker still lives: a short run may end between two samples.
    await sampling.then(sample);
    progress.end();
  }
  const poolMs = performance.now() - started;
  const { restarts } = pool.stats();
  pool.close();
  await pool.join(10_000);

  // 3. The report.
  const same = poolPrimes === serialPrimes && answered.size === CHUNKS;
  const speedup = serialMs / poolMs;
  console.log();
  console.table({
    "one process": {
      "wall time": `${(serialMs / 1000).toFixed(2)} s`,
      primes: serialPrimes,
      speedup: "1.00×",
    },
    [`pool of ${processes}`]: {
      "wall time": `${(poolMs / 1000).toFixed(2)} s`,
      primes: poolPrimes,
      speedup: `${speedup.toFixed(2)}×`,
    },
  });
  console.table(
    Object.fromEntries(
      [...workers].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })).map(([name, w]) => [name, {
        pid: w.pid,
        backend: "subprocess",
        tasks: w.tasks,
        restarts: w.restarts,
        "peak RSS": w.peakRss ? megabytes(w.peakRss) : "-",
        "CPU s": w.cpuSeconds.toFixed(1),
        note: name === killed ? "killed with SIGKILL" : w.restarts > 0 ? `replaced ${killed}` : "",
      }]),
    ),
  );
  console.log(
    `\n${answered.size} of ${CHUNKS} chunks answered, each once; ${restarts} worker${
      restarts === 1 ? "" : "s"
    } restarted; ` +
      `speedup ${speedup.toFixed(2)}x on ${processes} cores` +
      (same ? ", same answer" : ", DIFFERENT ANSWER"),
  );
  if (!same) Deno.exit(1);
}
