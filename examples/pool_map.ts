// `map` on a pool used as `with Pool(5) as pl:` (seed 000, "进程池": `pl.map(func,
// iterable[, chunksize])`, `map_async` with a callback, and "使用with"). The seed
// leaves `func` open; here it squares. `await using` ends the pool at the end
// of the block as Python's `with` does: it terminates it, so await every
// result inside.
import { currentProcess, Pool } from "../mod.ts";

export function square(x: number): number {
  return x * x;
}

/** Which worker ran item `x`. */
export function whoRuns(x: number): [number, string] {
  return [x, currentProcess().name];
}

const range = (start: number, stop: number) => Array.from({ length: stop - start }, (_, i) => start + i);

if (import.meta.main) {
  let pool: Pool;
  {
    await using pl = new Pool(5); // with Pool(5) as pl:   (the seed's Pool[5] is a typo)
    pool = pl;
    console.log(`map: ${JSON.stringify(await pl.map(square, range(1, 10)))}`); // print(pl.map(func, range(1, 10)))

    // "r = pl.map(func, iterable)" is, as the seed says, apply_async on each item, in order:
    const r = range(1, 10).map((i) => pl.applyAsync(square, [i]));
    const byHand = [];
    for (const res of r) byHand.push(await res.get());
    console.log(`applyAsync item by item: ${JSON.stringify(byHand)}`);

    // map_async: an AsyncResult at once; the callback gets the whole list.
    const result = pl.mapAsync(square, range(1, 10), {
      callback: (values) =>
        console.log(`mapAsync callback in ${currentProcess().name}: ${JSON.stringify(values)}`),
    });
    console.log(`mapAsync: ready right away? ${result.ready()}`);
    console.log(`mapAsync: get() ${JSON.stringify(await result.get())}`);

    // chunksize: items go to the workers in slices of that many, each slice to
    // one worker (fewer messages for many small items). The default here is
    // ceil(9 / (4 × 5)) = 1.
    const ran = await pl.map(whoRuns, range(1, 10), 3);
    const chunks = [];
    for (let start = 0; start < ran.length; start += 3) {
      const chunk = ran.slice(start, start + 3);
      if (new Set(chunk.map(([, worker]) => worker)).size !== 1) {
        console.log(`EXPECTED ONE WORKER PER CHUNK, GOT ${JSON.stringify(chunk)}`);
        Deno.exit(1);
      }
      chunks.push(`[${chunk.map(([x]) => x)}]`);
    }
    console.log(
      `map with chunksize=3: ${chunks.length} chunks, each run whole by one worker: ${chunks.join(" ")}`,
    );

    // imap: the same results one by one, in order, as they are ready.
    const lazily = [];
    for await (const y of pl.imap(square, range(1, 10))) lazily.push(y);
    console.log(`imap: ${lazily.join(" ")}`);
  } // the with block ends: pool.terminate()
  console.log(`after the block: ${pool}`);
}
