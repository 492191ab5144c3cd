/** Process targets for the tests. Each reports what it saw to a file the test reads after join. */

import { FRAME_MAGIC } from "../../src/wire/_frame.ts";
import { activeChildren, currentProcess, parentProcess, Process, ProcessError } from "../../mod.ts";
import { childChannel } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

async function report(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value));
}

export function noop(): void {}

export async function echoArgs(path: string, ...args: unknown[]): Promise<void> {
  await report(path, { inspected: Deno.inspect(args, { depth: 10, sorted: true }) });
}

export async function whoAmI(path: string): Promise<void> {
  const self = currentProcess();
  const parent = parentProcess();
  await report(path, {
    name: self.name,
    pid: self.pid,
    daemon: self.daemon,
    alive: self.isAlive(),
    exitCode: self.exitCode,
    parentName: parent?.name ?? null,
    parentPid: parent?.pid ?? null,
    parentAlive: parent?.isAlive() ?? null,
  });
}

export function exitWith(code: number): void {
  Deno.exit(code);
}

export function closeSelf(): void {
  (globalThis as unknown as { close(): void }).close();
}

export class TargetError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = "TargetError";
  }
}

export function throwError(message: string): void {
  throw new TargetError(message, "E_TARGET");
}

export async function rejectAsync(message: string): Promise<void> {
  await Promise.resolve();
  throw new TypeError(message);
}

export function throwInTimer(message: string): Promise<void> {
  setTimeout(() => {
    throw new RangeError(message);
  }, 0);
  return new Promise(() => {});
}

export function rejectInBackground(message: string): Promise<void> {
  setTimeout(() => void Promise.reject(new EvalError(message)), 0);
  return new Promise(() => {});
}

export function forever(): Promise<void> {
  return new Promise(() => setInterval(() => {}, 1000));
}

/** Starts a grandchild, reports what the child saw of it. */
export async function spawnChild(path: string, grandchildReport: string): Promise<void> {
  const kid = new Process({ target: whoAmI, args: [grandchildReport], module: MODULE });
  const started = kid.start();
  // Read before awaiting: a quick child may already be gone once start() resolves.
  const whileRunning = activeChildren().map((p) => p.name);
  await started;
  await kid.join();
  await report(path, {
    kidName: kid.name,
    kidPid: kid.pid,
    kidExitCode: kid.exitCode,
    whileRunning,
    afterJoin: activeChildren().map((p) => p.name),
  });
}

/** Starts a grandchild of each kind and returns at once: the daemon one must be terminated, the other waited for. */
export async function leaveGrandchildren(
  path: string,
  finishedReport: string,
  delayMs: number,
): Promise<void> {
  const daemon = new Process({ target: forever, module: MODULE, daemon: true });
  const worker = new Process({ target: writeAfterDelay, args: [finishedReport, delayMs], module: MODULE });
  await daemon.start();
  await worker.start();
  await report(path, { daemon: daemon.name, worker: worker.name });
}

/** Like leaveGrandchildren, then runs until terminated. */
export async function holdGrandchildren(
  path: string,
  finishedReport: string,
  delayMs: number,
): Promise<void> {
  await leaveGrandchildren(path, finishedReport, delayMs);
  await forever();
}

export async function writeAfterDelay(path: string, delayMs: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  await report(path, { finished: true });
}

/** Tries to start a child and reports the error it got (a daemon may not have children). */
export async function tryStartChild(path: string): Promise<void> {
  try {
    await new Process({ target: noop, module: MODULE }).start();
    await report(path, { error: null });
  } catch (error) {
    await report(path, {
      error: error instanceof ProcessError ? "ProcessError" : String(error),
      message: (error as Error).message,
    });
  }
}

/** Terminates its grandchild and reports the exit code it saw. */
export async function terminateGrandchild(path: string): Promise<void> {
  const kid = new Process({ target: forever, module: MODULE });
  await kid.start();
  kid.terminate();
  await kid.join();
  await report(path, { exitCode: kid.exitCode });
}

export let constructorRuns = 0;

/** A subclass whose constructor must not run in the child. */
export class Clock extends Process {
  readonly ticks: number[] = [];
  constructor(readonly intervalMs: number, readonly path: string) {
    super({ module: MODULE });
    constructorRuns++;
  }

  override async run(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      this.ticks.push(i);
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
    await report(this.path, {
      ticks: this.ticks,
      intervalMs: this.intervalMs,
      name: this.name,
      isCurrent: currentProcess() === this,
      isClock: this instanceof Clock,
      constructorRuns,
    });
  }
}

/** Not exported: the child cannot find it. */
class HiddenClock extends Process {
  override run(): void {}
}

export function makeHiddenClock(): Process {
  return new HiddenClock({ module: MODULE });
}

export function notExported(): () => void {
  return function hidden() {};
}

/** Reports what reading stdin gives: a subprocess child must see end-of-file. */
export async function readStdin(path: string): Promise<void> {
  const read = await Deno.stdin.read(new Uint8Array(16));
  await report(path, { read, pid: Deno.pid, args: Deno.args });
}

/** Dies by a signal of its own choosing. */
export function killSelf(signal: Deno.Signal): Promise<void> {
  Deno.kill(Deno.pid, signal);
  return new Promise(() => {});
}

/** Writes bytes that are not a frame on the child's own channel to the root. */
export async function writeGarbage(): Promise<void> {
  const { conn, flush } = childChannel()!;
  await flush();
  await conn.write(crypto.getRandomValues(new Uint8Array(4096)));
  await forever();
}

/** Allocates until V8 gives up. */
export function exhaustMemory(): void {
  const hoard: number[][] = [];
  while (true) hoard.push(Array.from({ length: 100_000 }, (_, i) => i));
}

/** Tries a read and a connect; reports which the sandbox refused. */
export async function probeSandbox(path: string, file: string, port: number): Promise<void> {
  const outcome = async (attempt: () => Promise<unknown>) => {
    try {
      await attempt();
      return "allowed";
    } catch (error) {
      return (error as Error).name;
    }
  };
  await report(path, {
    read: await outcome(() => Deno.readTextFile(file)),
    connect: await outcome(async () => (await Deno.connect({ hostname: "127.0.0.1", port })).close()),
    env: await outcome(() => Promise.resolve().then(() => Deno.env.get("HOME"))),
  });
}

/** Asks for a grandchild with more permissions than this child holds. */
export async function escalate(path: string): Promise<void> {
  try {
    new Process({ target: noop, module: MODULE, backend: "subprocess", permissions: { net: true } });
    await report(path, { error: null });
  } catch (error) {
    await report(path, { error: (error as Error).name, message: (error as Error).message });
  }
}

/** Prints numbered lines on stdout and stderr while starting grandchildren (protocol traffic). */
export async function chatter(lines: number): Promise<void> {
  for (let i = 0; i < lines; i++) {
    console.log(`out ${i}`);
    console.error(`err ${i}`);
    if (i % 25 === 0) {
      const kid = new Process({ target: noop, module: MODULE });
      await kid.start();
      await kid.join();
    }
  }
}

/** Starts a subprocess grandchild that runs forever, prints its pid, and runs forever itself. */
export async function spawnForever(): Promise<void> {
  const kid = new Process({ target: forever, module: MODULE, backend: "subprocess" });
  await kid.start();
  console.log(`pid ${kid.pid}`);
  await forever();
}

/** Starts a frame on its channel, promising a megabyte, and exits halfway through it. */
export async function exitMidMessage(): Promise<void> {
  const { conn, flush } = childChannel()!;
  await flush();
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint32(0, FRAME_MAGIC, true);
  new DataView(header.buffer).setUint32(4, 1 << 20, true);
  await conn.write(header);
  await conn.write(new Uint8Array(1000));
  Deno.exit(3);
}

/** Waits for its parent to exit, then reports what parentProcess() says. */
export async function waitForParent(path: string): Promise<void> {
  const parent = parentProcess()!;
  const aliveBefore = parent.isAlive();
  await parent.join();
  await report(path, { aliveBefore, aliveAfter: parent.isAlive() });
}

/** Starts a grandchild that waits for this process to exit, says so, and runs until terminated. */
export async function holdWaiter(ready: string, grandchildReport: string): Promise<void> {
  const kid = new Process({ target: waitForParent, args: [grandchildReport], module: MODULE });
  await kid.start();
  await report(ready, { kid: kid.name });
  await forever();
}
