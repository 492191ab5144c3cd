/**
 * Pool workers for pool_start_kill_test.ts. They talk to the test over a
 * loopback connection: the initializer says "init <pid>" and waits for the
 * test's word (the test kills the workers it wants dead while they wait, and
 * lets the others go on); the map's gate item says "task <pid>" and waits
 * too, so the map is still running while the test kills. Events, no timing:
 * the test knows a worker is starting because it said so.
 */

export const MODULE: string = import.meta.url;

/** The item of `gatedSquare` that waits for the test's word. */
export const GATE = 1_000;

/** The test's port, set by the initializer. */
let testPort = 0;

/** Says `what` and this OS process's pid to the test, then waits until it answers (or kills this process). */
async function tellAndWait(what: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: testPort });
  try {
    await conn.write(new TextEncoder().encode(`${what} ${Deno.pid}\n`));
    const answer = new Uint8Array(1);
    if (await conn.read(answer) !== 1) throw new Error("The test hung up before it said go");
  } finally {
    conn.close();
  }
}

/** The initializer: "init <pid>", then wait. */
export function reportThenWait(port: number): Promise<void> {
  testPort = port;
  return tellAndWait("init");
}

/** x², but the gate item first says "task <pid>" and waits for the test. */
export async function gatedSquare(x: number): Promise<number> {
  if (x === GATE) await tellAndWait("task");
  return x * x;
}

export function square(x: number): number {
  return x * x;
}
