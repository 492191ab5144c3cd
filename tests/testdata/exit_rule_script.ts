// A program that forgets what it started, or awaits it, then returns from its
// main module (issue 22, item 9). It must end by itself: daemon children,
// pool workers and a supervisor's children do not keep it running once
// nothing awaits them; a non-daemon child is waited for, as Python joins it.
// Arguments: the backend, the mode, then "await" (the default) or "then". Prints "pids: [...]" (the OS
// processes of its children still alive, from ps()) and "main done".
import {
  type Backend,
  type Connection,
  EOFError,
  Pipe,
  Pool,
  Process,
  ps,
  Queue,
  Supervisor,
} from "../../mod.ts";
import * as actors from "./actor_targets.ts";
import * as pools from "./pool_targets.ts";

const MODULE = import.meta.url;

/** Runs (a ref'd timer) for `ms` ms, then prints `text`. */
export async function napThenSay(ms: number, text: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  console.log(text);
}

/** Puts `item` on `queue` after `ms` ms. */
export async function putLater(queue: Queue<string>, ms: number, item: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await queue.put(item);
}

/**
 * Waits (up to `timeoutMs`) for EOF on `reader`, whose only writer a daemon
 * holds: it comes when the daemon ends. Then prints what it saw, and that it
 * is done: its whole output.
 */
export async function awaitEnd(
  reader: Connection<never, never>,
  who: string,
  timeoutMs = Infinity,
): Promise<void> {
  try {
    await reader.recv({ timeout: timeoutMs });
  } catch (error) {
    console.log(`${who}: ${error instanceof EOFError ? "the daemon has ended" : "the daemon still runs"}`);
  }
  console.log(`${who} done`);
}

/** Starts a non-daemon child of its own (a grandchild of the main module) that waits for `reader`'s EOF. */
export async function parentOfOne(backend: Backend, reader: Connection<never, never>): Promise<void> {
  const child = new Process({ target: awaitEnd, args: [reader, "grandchild"], module: MODULE, backend });
  await child.start();
}

/** A daemon's target: holds `writer` (its reader sees EOF when this process ends) and works for 5 s. */
export async function holdWriter(_writer: Connection<never, never>): Promise<void> {
  await napThenSay(5_000, "daemon finished its work");
}

/**
 * Starts a daemon holding the only writer of a pipe, and gives the reader,
 * which sees EOF when the daemon ends.
 */
async function startDaemon(backend: Backend): Promise<{ daemon: Process; reader: Connection<never, never> }> {
  const [reader, writer] = Pipe<never>(false);
  const daemon = new Process({ target: holdWriter, args: [writer], module: MODULE, backend, daemon: true });
  await daemon.start();
  writer.close();
  return { daemon, reader };
}

/** Prints the exit codes of `processes` when the program ends (read then, so that nothing waits for them). */
function printExitCodes(processes: Record<string, Process>): void {
  addEventListener("unload", () => {
    const codes = Object.entries(processes).map(([name, p]) => `${name} ${p.exitCode}`);
    console.log(`exit codes: ${codes.join(", ")}`);
  });
}

/**
 * A child that starts a daemon and a non-daemon child of its own and
 * returns at once: Python's exit handler runs in it too.
 */
export async function parentOfTwo(backend: Backend): Promise<void> {
  const { reader } = await startDaemon(backend);
  const child = new Process({ target: awaitEnd, args: [reader, "grandchild"], module: MODULE, backend });
  await child.start();
  console.log("child target returns");
}

/** Says whether it sees the globals of a Deno worker. */
export function globals(): void {
  console.log(`self: ${typeof self !== "undefined" && self === globalThis}`);
}

/** Runs until it is stopped: an interval keeps its own isolate busy. */
export function forever(): Promise<void> {
  return new Promise(() => setInterval(() => {}, 1000));
}

/** What the program does in `mode`; prints "pids: [...]" and "main done" at its end. */
async function main(backend: Backend, mode: string): Promise<void> {
  if (mode === "pool-idle" || mode === "pool-mapped") {
    const pool = new Pool({ processes: 2, module: pools.MODULE, backend });
    if (mode === "pool-mapped") console.log(`map: ${await pool.map(pools.square, [1, 2, 3])}`);
    else await pool.apply(pools.square, [0]);
  } else if (mode === "supervisor") {
    const sup = new Supervisor({
      children: [
        { id: "counter", target: actors.counter, module: actors.MODULE, backend },
        { id: "forever", target: forever, module: MODULE, backend },
      ],
    });
    await sup.start();
    sup.ref("counter").tell(2);
    console.log(`ask: ${await sup.ref("counter").ask("get")}`);
  } else if (mode === "daemon") {
    const p = new Process({ target: forever, module: MODULE, backend, daemon: true });
    await p.start();
  } else if (mode === "await") {
    // Awaited at top level, a pool's tasks and a daemon's join keep the program running.
    const pool = new Pool({ processes: 1, module: pools.MODULE, backend });
    console.log(`map: ${await pool.map(pools.sleepyEcho, [300, 10])}`);
    const p = new Process({
      target: napThenSay,
      args: [300, "daemon said"],
      module: MODULE,
      backend,
      daemon: true,
    });
    p.start();
    await p.join();
    console.log(`daemon exit code: ${p.exitCode}`);
  } else if (mode === "non-daemon") {
    // Python joins a non-daemon child at exit: the program waits for it.
    const p = new Process({ target: napThenSay, args: [300, "child done"], module: MODULE, backend });
    await p.start();
  } else if (mode === "queue") {
    // An endless get at top level waits for a daemon's put.
    const queue = new Queue<string>();
    const p = new Process({
      target: putLater,
      args: [queue, 300, "late item"],
      module: MODULE,
      backend,
      daemon: true,
    });
    await p.start();
    console.log(`got: ${await queue.get()}`);
  } else if (mode === "python-rule") {
    // Seed 004: a daemon and a non-daemon, then the main module is done. The daemon is terminated then, and
    // the non-daemon, which waits for that, finishes after it.
    const { daemon, reader } = await startDaemon(backend);
    const child = new Process({ target: awaitEnd, args: [reader, "non-daemon"], module: MODULE, backend });
    await child.start();
    printExitCodes({ daemon, child });
  } else if (mode === "nested-daemon") {
    // A child's own exit handler: its daemon is terminated when its target returns, its non-daemon joined.
    const child = new Process({ target: parentOfTwo, args: [backend], module: MODULE, backend });
    await child.start();
    printExitCodes({ child });
  } else if (mode === "nested") {
    // The main module's daemon is terminated when it is done, though a grandchild (waiting for that) still
    // runs; the program waits for the child, which waits for the grandchild.
    const { daemon, reader } = await startDaemon(backend);
    const child = new Process({ target: parentOfOne, args: [backend, reader], module: MODULE, backend });
    await child.start();
    printExitCodes({ daemon, child });
  } else if (mode === "sandboxed") {
    // A child in a worker sandbox is a web Worker, which Deno cannot unref: it holds the program while it
    // runs, so the daemon is terminated only after it ends (a subprocess's sandbox is its flags: no such
    // limit there). It waits 2 s for the daemon's end.
    const { daemon, reader } = await startDaemon(backend);
    const child = new Process({
      target: awaitEnd,
      args: [reader, "sandboxed child", 2_000],
      module: MODULE,
      backend,
      permissions: { net: false },
    });
    await child.start();
    printExitCodes({ daemon, child });
  } else if (mode === "forgotten-with-child") {
    // A pool's workers and a supervisor's children are not terminated when the main module is done (the
    // pool or supervisor would replace them): they end with the program, after the non-daemon child.
    const pool = new Pool({ processes: 2, module: pools.MODULE, backend });
    console.log(`map: ${await pool.map(pools.square, [1, 2, 3])}`);
    const sup = new Supervisor({ children: [{ id: "forever", target: forever, module: MODULE, backend }] });
    await sup.start();
    const child = new Process({ target: napThenSay, args: [300, "child done"], module: MODULE, backend });
    await child.start();
    sup.addEventListener("restarted", () => console.log("supervisor restarted a child"));
    printExitCodes({ child });
  } else if (mode === "deno-exit") {
    // Deno.exit() ends the program at once: no child may be left running.
    const child = new Process({ target: napThenSay, args: [1_000, "child done"], module: MODULE, backend });
    const daemon = new Process({ target: forever, module: MODULE, backend, daemon: true });
    await child.start();
    await daemon.start();
    const pids = (await ps()).map((row) => row.pid).filter((pid) => pid !== Deno.pid);
    console.log(`pids: ${JSON.stringify(pids)}`);
    Deno.exit(3);
  } else if (mode === "globals") {
    const p = new Process({ target: globals, module: MODULE, backend });
    await p.start();
    await p.join();
  } else {
    throw new RangeError(`Unknown mode ${mode}`);
  }
  // Every OS process of ours still alive (a worker's is this one).
  const pids = (await ps()).map((row) => row.pid).filter((pid) => pid !== Deno.pid);
  console.log(`pids: ${JSON.stringify(pids)}`);
  console.log("main done");
}

if (import.meta.main) {
  const [backend, mode, how = "await"] = Deno.args as [Backend, string, string?];
  // "await": the main module awaits its work (Deno keeps a program with a
  // pending top-level await running while a worker could settle it); "then":
  // it does not, and the work goes on in callbacks, which must keep the
  // program running by themselves.
  if (how === "await") await main(backend, mode);
  else main(backend, mode).catch((error) => console.error(error));
}
