// Shared memory with `Value` (seed 002, "共享内存": `obj = Value(ctype, data)`,
// read and write `obj.value`): the classic month of a couple's bank account.
// `money = Value('i', 5000)`; a "man" process earns 30 random amounts and a
// "girl" process spends 30, both on the same shared integer. Python's
// example makes `money` at module level and relies on fork; here children
// re-import this module, so the Value is passed to them in `args`.
//
// `money.value += x` is a read and then a write, and two processes may
// interleave them and lose an update, so each one holds the Value's lock
// (Python's `with money.get_lock():`). Each process also adds up what it
// did in a RawValue of its own, so that the main process can check the
// balance: 5000 + earned - spent, with no update lost.
import { currentProcess, Process, RawValue, Value } from "../mod.ts";

const MONTH = 30;

function randint(a: number, b: number): number {
  return a + Math.floor(Math.random() * (b - a + 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// def man(): earns randint(1, 1000) thirty times
export async function man(money: Value<"i">, earned: RawValue<"i">): Promise<void> {
  for (let i = 0; i < MONTH; i++) {
    await sleep(10); // time.sleep(0.2), shortened: the tutorial's pacing only
    const amount = randint(1, 1000);
    using _held = await money.hold(); // with money.get_lock():
    money.value += amount; // money.value += random.randint(1, 1000)
    earned.value += amount; // only this process writes it: no lock needed
  }
  console.log(`  ${currentProcess().name}: earned ${earned.value} in ${MONTH} deposits`);
}

// def girl(): spends randint(100, 800) thirty times
export async function girl(money: Value<"i">, spent: RawValue<"i">): Promise<void> {
  for (let i = 0; i < MONTH; i++) {
    await sleep(7); // time.sleep(0.15), shortened
    const amount = randint(100, 800);
    using _held = await money.hold();
    money.value -= amount; // money.value -= random.randint(100, 800)
    spent.value += amount;
  }
  console.log(`  ${currentProcess().name}: spent ${spent.value} in ${MONTH} withdrawals`);
}

if (import.meta.main) {
  const money = new Value("i", 5000); // money = Value('i', 5000)
  const earned = new RawValue("i", 0); // RawValue: no lock, as each has one writer
  const spent = new RawValue("i", 0);
  console.log(`main: money = ${money}`);

  const m = new Process({ target: man, args: [money, earned], name: "man" }); // Process(target=man)
  const g = new Process({ target: girl, args: [money, spent], name: "girl" });
  await m.start();
  await g.start();
  await m.join();
  await g.join();

  console.log(`main: balance after a month: ${money.value}`); // print("一月余额:", money.value)
  const expected = 5000 + earned.value - spent.value;
  if (money.value !== expected) {
    console.log(`EXPECTED ${expected}, GOT ${money.value}: AN UPDATE WAS LOST`);
    Deno.exit(1);
  }
  console.log(
    `main: balance = 5000 + man's ${earned.value} - girl's ${spent.value} = ${money.value}: no update was lost`,
  );
}
