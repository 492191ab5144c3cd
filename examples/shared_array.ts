// Shared memory with `Array` (seed 002, "共享内存": `obj = Array(ctype, data)`;
// iterate it to read each value, index it to change one, and `obj.value`
// for a byte string). troupe names it `SharedArray`, so as not to shadow
// JavaScript's `Array`, and indexes it as Python does: `shm[1] = 1000`,
// `a[i] = -a[i]`, `shm.length`, `for (const i of shm)`. The tutorial's three
// arrays, one after another: `Array('i', [1, 2, 3])`, `Array('i', 3)` (three
// zeroed ints) and `Array('c', b'hello')`. Each time a child prints the items
// and changes item 1; the parent then sees the change. Last, a child negates
// every item of the first array, `a[i] = -a[i]`.
// Python's example makes `shm` at module level and relies on fork; here the
// child re-imports this module, so the array is passed to it in `args`.
import { currentProcess, type ElementOf, Process, SharedArray, type Typecode } from "../mod.ts";

// def fun(): for i in shm: print(i); shm[1] = ...
export function fun<C extends Typecode>(shm: SharedArray<C>, item: ElementOf<C>): void {
  const name = currentProcess().name;
  for (const i of shm) console.log(`  ${name}: ${JSON.stringify(i)}`); // for i in shm: print(i)
  if (typeof item === "string") {
    // An index holds what the typed array holds: a byte, a number, for "c".
    // set() takes Python's one-character string (and negative indexes).
    shm.set(1, item); // shm[1] = b'H'
  } else {
    shm[1] = item as SharedArray<C>[number]; // shm[1] = 1000
  }
  console.log(`  ${name}: set item 1 to ${JSON.stringify(item)}`);
}

// def negate(a): for i in range(len(a)): a[i] = -a[i]
export function negate(a: SharedArray<"i">): void {
  for (let i = 0; i < a.length; i++) a[i] = -a[i]!; // `!`: under noUncheckedIndexedAccess, as for any typed array
}

async function inAChild<A extends unknown[]>(target: (...args: A) => void, ...args: A): Promise<void> {
  const p = new Process({ target, args }); // p = Process(target=fun)
  await p.start();
  await p.join();
}

if (import.meta.main) {
  const ints = new SharedArray("i", [1, 2, 3]); // shm = Array('i', [1, 2, 3])
  console.log(`main: ${ints}`);
  await inAChild(fun, ints, 1000);
  console.log(`main: for i in shm: ${[...ints].join(" ")}`);

  const zeros = new SharedArray("i", 3); // shm = Array('i', 3): three ints, zero-filled
  console.log(`main: ${zeros}`);
  await inAChild(fun, zeros, 1000);
  console.log(`main: for i in shm: ${[...zeros].join(" ")}`);

  const word = new SharedArray("c", "hello"); // shm = Array('c', b'hello')
  console.log(`main: ${word}`);
  await inAChild(fun, word, "H");
  console.log(`main: for i in shm: ${[...word].join(" ")}`);
  console.log(`main: shm.value = ${JSON.stringify(word.value)} (Python prints b'${word.value}')`); // print(shm.value)

  await inAChild(negate, ints);
  console.log(`main: after a[i] = -a[i] in a child: ${[...ints].join(" ")}; a[1] = ${ints[1]}`);
}
