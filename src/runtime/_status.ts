/**
 * What `ps()` reports beyond the root's registry: what a process's creator
 * knows about it (its mailbox, and the restarts and tasks a pool or a
 * supervisor counts), what a process knows about itself (its heap, its
 * thread), and what Linux's `/proc` says about its CPU time and memory.
 *
 * @module
 */

import { BACKENDS } from "./_backends.ts";
import type { Backend, KidNote, ProbeReport, ProcessStatus } from "./_protocol.ts";
import { cpuTimesOf, PAGE_BYTES, parseStat } from "../core/_proc_stat.ts";

/** What `ps()` needs of a child this isolate started (a `ProcessEngine`). */
export interface ChildView {
  /** Its root-wide id; -1 until it is spawned. */
  readonly id: number;
  /** The `Process` a pool or supervisor annotated. */
  readonly facade: object;
  readonly mailbox: { qsize(): number };
}

/** What a pool or a supervisor knows about a process it started. */
export interface Annotation {
  /** How many processes this one replaced in its place (0 for the first). */
  readonly restarts: number;
  /** How many tasks it has finished, for a pool worker. */
  readonly tasksDone?: () => number;
}

const annotations = new WeakMap<object, Annotation>();

/** Lets the pool or supervisor that started `process` (a `Process`) say what it knows. */
export function annotate(process: object, annotation: Annotation): void {
  annotations.set(process, annotation);
}

/** What this isolate knows about each of its live `children`. */
export function kidNotes(children: Iterable<ChildView>): KidNote[] {
  return [...children].filter((engine) => engine.id >= 0).map((engine) => {
    const annotation = annotations.get(engine.facade);
    let mailbox: number | null;
    try {
      mailbox = engine.mailbox.qsize();
    } catch {
      mailbox = null;
    }
    return {
      id: engine.id,
      mailbox,
      restarts: annotation?.restarts ?? 0,
      tasksDone: annotation?.tasksDone?.() ?? null,
    };
  });
}

/** Read once: an isolate's thread does not change. Undefined until read. */
let threadId: number | null | undefined;

/** The OS thread this isolate runs on (Linux), or null if it may not read /proc. */
export function currentThreadId(): number | null {
  if (threadId === undefined) {
    const path = "/proc/thread-self";
    try {
      const tid = mayRead(path) ? Number(Deno.readLinkSync(path).split("/").pop()) : null;
      threadId = Number.isSafeInteger(tid) ? tid : null;
    } catch {
      // Not Linux: no CPU time for a worker.
      threadId = null;
    }
  }
  return threadId;
}

/** Whether this process holds read permission for `path`: reading without would prompt on a terminal. */
function mayRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}

/** This process's answer to a probe; `children` are the ones it started. */
export function probeReport(children: Iterable<ChildView>): ProbeReport {
  const { heapUsed, rss } = Deno.memoryUsage();
  return { heapUsed, rss, tid: currentThreadId(), kids: kidNotes(children) };
}

/** What the root's registry knows about a live process, for `snapshot`; `H` is its host. */
export interface Registered<H extends { readonly pid: number } = { readonly pid: number }> {
  readonly id: number;
  readonly name: string;
  /** The id of the process that created it; 0 is the root. */
  readonly owner: number;
  readonly host: H;
  /** The `performance.now()` at which it was launched. */
  readonly launchedAt: number;
  /** Whether its target runs (it reported `started`). */
  readonly running: boolean;
  /** The creator's name. */
  readonly parentName: string;
  readonly backend: Backend;
  /** The thread of a worker, as it last reported it. */
  readonly tid: number | null;
}

/** CPU time (seconds) and resident memory (bytes) from /proc, or null where it cannot be read. */
async function procUsage(
  pid: number,
  tid: number | null,
): Promise<{ cpu: { user: number; system: number }; rss: number } | null> {
  const path = tid === null ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  if (!mayRead(path)) return null;
  try {
    const stat = parseStat(await Deno.readTextFile(path));
    return { cpu: cpuTimesOf(stat), rss: stat.number(24) * PAGE_BYTES };
  } catch {
    return null;
  }
}

/**
 * Every live process's status: the registry's facts, each process's answer
 * to a probe (null, "busy", if it gave none in time), its creator's notes
 * (the root's own are `rootNotes`), and /proc's figures.
 */
export async function snapshot(
  live: readonly Registered[],
  probe: (id: number) => Promise<ProbeReport | null>,
  rootNotes: readonly KidNote[],
): Promise<ProcessStatus[]> {
  const reports = await Promise.all(live.map((process) => probe(process.id)));
  const notes = new Map(rootNotes.map((note) => [note.id, note]));
  const owners = new Map(live.map((process) => [process.id, process.owner]));
  reports.forEach((report, i) => {
    // A process speaks for its own children only: another's figures are not its to give.
    for (const note of report?.kids ?? []) if (owners.get(note.id) === live[i]!.id) notes.set(note.id, note);
  });
  const now = performance.now();
  return Promise.all(live.map(async (process, i): Promise<ProcessStatus> => {
    const report = reports[i];
    const note = notes.get(process.id);
    const worker = BACKENDS[process.backend].sharesMemory;
    // A worker's CPU time is its thread's; a subprocess's, its whole OS process's.
    const tid = report?.tid ?? process.tid;
    const usage = worker && tid === null ? null : await procUsage(process.host.pid, worker ? tid : null);
    return {
      name: process.name,
      pid: process.host.pid,
      parent: process.parentName,
      backend: process.backend,
      status: !process.running ? "starting" : report ? "running" : "busy",
      uptimeMs: Math.round(now - process.launchedAt),
      restarts: note?.restarts ?? null,
      mailbox: note?.mailbox ?? null,
      tasksDone: note?.tasksDone ?? null,
      rss: worker ? null : usage?.rss ?? report?.rss ?? null,
      heapUsed: worker ? report?.heapUsed ?? null : null,
      cpuTime: usage?.cpu ?? null,
    };
  }));
}
