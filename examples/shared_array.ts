// Shared memory with `Array` (seed 002, "共享内存": `obj = Array(ctype, data)`;
// iterate it to read each value, index it to change one, and `obj.value`
// for a byte string). troupe names it `SharedArray`, so as not to shadow
// JavaScript's `Array`, and indexes it with `get(i)` and `set(i, v)`. The
// tutorial's three arrays, one after another: `Array('i', [1, 2, 3])`,
// `Array('i', 3)` (three zeroed ints) and `Array('c', b'hello')`. Each time a
// child prints the items and changes item 1; the parent then sees the change.
// Python's example makes `shm` at module level and relies on fork; here the
// child re-imports this module, so the array is passed to it in `args`.
import { currentProcess, type ElementOf, Process, SharedArray, type Typecode } from "../mod.ts";

// def fun(): for i in shm: print(i); shm[1] = ...
export function fun<C extends Typecode>(shm: SharedArray<C>, item: ElementOf<C>): void {
  const name = currentProcess().name;
  for (const i of shm) console.log(`  ${name}: ${JSON.stringify(i)}`); // for i in shm: print(i)
  shm.set(1, item); // shm[1] = 1000, or shm[1] = b'H'
  console.log(`  ${name}: set item 1 to ${JSON.stringify(item)}`);
}

async function inAChild<C extends Typecode>(shm: SharedArray<C>, item: ElementOf<C>): Promise<void> {
  const p = new Process({ target: fun, args: [shm, item] }); // p = Process(target=fun)
  await p.start();
  await p.join();
}

if (import.meta.main) {
  const ints = new SharedArray("i", [1, 2, 3]); // shm = Array('i', [1, 2, 3])
  console.log(`main: ${ints}`);
  await inAChild(ints, 1000);
  console.log(`main: for i in shm: ${[...ints].join(" ")}`);

  const zeros = new SharedArray("i", 3); // shm = Array('i', 3): three ints, zero-filled
  console.log(`main: ${zeros}`);
  await inAChild(zeros, 1000);
  console.log(`main: for i in shm: ${[...zeros].join(" ")}`);

  const word = new SharedArray("c", "hello"); // shm = Array('c', b'hello')
  console.log(`main: ${word}`);
  await inAChild(word, "H");
  console.log(`main: for i in shm: ${[...word].join(" ")}`);
  console.log(`main: shm.value = ${JSON.stringify(word.value)} (Python prints b'${word.value}')`); // print(shm.value)
}
