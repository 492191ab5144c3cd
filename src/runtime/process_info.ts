/**
 * What the operating system knows about a process, any process: a typed
 * subset of psutil's `Process`, read from Linux's `/proc` (seed 004's
 * "all processes" listing). Needs read permission for `/proc` (and
 * `/etc/passwd` for user names). `ps()` lists troupe's own processes, with
 * what only troupe knows (mailboxes, restarts, tasks done).
 *
 * ```ts
 * import { processInfo } from "@troupe/troupe/process-info";
 *
 * console.log((await processInfo()).pid === Deno.pid); // true
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
import { cpuTimesOf, PAGE_BYTES, parseStat, TICKS_PER_SECOND } from "../core/_proc_stat.ts";
import { ProcessError } from "../core/errors.ts";

export type { Backend } from "./_protocol.ts";
export { type ProcessStatus, ps, type PsOptions } from "./ps.ts";

/**
 * A process of the operating system, as `processInfo` found it.
 *
 * @example
 * ```ts
 * import { type OsProcessInfo, processInfo } from "@troupe/troupe";
 *
 * const me: OsProcessInfo = await processInfo();
 * console.log(me.name, me.memory.rss);
 * ```
 */
export interface OsProcessInfo {
  /** The process id. */
  readonly pid: number;
  /** The parent's pid (0 for the first process). */
  readonly ppid: number;
  /** The command name the kernel keeps (at most 15 characters). */
  readonly name: string;
  /** The executable's path; null when it may not be read (another user's process). */
  readonly exe: string | null;
  /** The working directory; null when it may not be read. */
  readonly cwd: string | null;
  /** The command line, one argument each; empty for a kernel thread or a zombie. */
  readonly cmdline: readonly string[];
  /** psutil's status names: "running", "sleeping", "disk-sleep", "stopped", "zombie", "idle", … */
  readonly status: string;
  /** The real user's name (or their uid as text, without an entry in /etc/passwd). */
  readonly username: string;
  /** When the process started. */
  readonly createTime: Date;
  /** CPU seconds spent in user and in kernel mode. */
  readonly cpuTimes: { readonly user: number; readonly system: number };
  /** Resident and virtual memory, in bytes. */
  readonly memory: { readonly rss: number; readonly vms: number };
  /** How many threads it runs (a troupe program: one per worker, among others). */
  readonly numThreads: number;
  /** Regular files it has open (paths); null when they may not be read. */
  readonly openFiles: readonly string[] | null;
}

/**
 * No process has that pid (it may have exited): psutil's `NoSuchProcess`.
 *
 * @example
 * ```ts
 * import { NoSuchProcessError, processInfo } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * if (Deno.build.os === "linux") await assert.rejects(processInfo(2 ** 30), NoSuchProcessError);
 * ```
 */
export class NoSuchProcessError extends ProcessError {
  /** The pid asked about. */
  readonly pid: number;

  /**
   * Creates the error.
   *
   * @param pid The pid asked about.
   */
  constructor(pid: number) {
    super(`Cannot read process ${pid} as no process has that pid (it may have exited)`);
    this.name = "NoSuchProcessError";
    this.pid = pid;
  }
}

/**
 * The operating system would not let this process read that one's
 * information (another user's): psutil's `AccessDenied`.
 *
 * @example
 * ```ts
 * import { AccessDeniedError } from "@troupe/troupe";
 *
 * console.log(new AccessDeniedError(1).message);
 * ```
 */
export class AccessDeniedError extends ProcessError {
  /** The pid asked about. */
  readonly pid: number;

  /**
   * Creates the error.
   *
   * @param pid The pid asked about.
   */
  constructor(pid: number) {
    super(`Cannot read process ${pid} as the operating system denies it: it belongs to another user`);
    this.name = "AccessDeniedError";
    this.pid = pid;
  }
}

const STATUS: Record<string, string> = {
  R: "running",
  S: "sleeping",
  D: "disk-sleep",
  T: "stopped",
  t: "tracing-stop",
  Z: "zombie",
  X: "dead",
  x: "dead",
  I: "idle",
  K: "wake-kill",
  W: "waking",
  P: "parked",
};

/**
 * The pids of every process, as psutil's `pids()`: Linux only.
 *
 * @returns The pids, ascending.
 * @throws {ProcessError} Off Linux, or without read permission for `/proc` (the promise rejects).
 *
 * @example
 * ```ts
 * import { pids } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * if (Deno.build.os === "linux") assert.ok((await pids()).includes(Deno.pid));
 * ```
 */
export async function pids(): Promise<number[]> {
  assertLinux("pids");
  const found: number[] = [];
  try {
    for await (const entry of Deno.readDir("/proc")) {
      if (entry.isDirectory && /^\d+$/.test(entry.name)) found.push(Number(entry.name));
    }
  } catch (error) {
    throw explain(error, 0);
  }
  return found.sort((a, b) => a - b);
}

/**
 * What the operating system knows about process `pid`, read from `/proc`:
 * a typed subset of psutil's `Process` (name, exe, cwd, cmdline, ppid,
 * status, username, create time, CPU times, memory, threads, open files).
 * Linux only.
 *
 * @param pid Any process's pid. @default {this process}
 * @returns Its information, read now.
 * @throws {NoSuchProcessError} When no process has that pid (the promise rejects).
 * @throws {AccessDeniedError} When the operating system denies the read.
 * @throws {ProcessError} Off Linux, or without Deno's read permission for `/proc`.
 *
 * @example
 * ```ts
 * import { processInfo } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * if (Deno.build.os === "linux") {
 *   const me = await processInfo();
 *   assert.equal(me.pid, Deno.pid);
 *   assert.ok(me.memory.rss > 0);
 * }
 * ```
 */
export async function processInfo(pid: number = Deno.pid): Promise<OsProcessInfo> {
  assertLinux("processInfo");
  if (!Number.isInteger(pid) || pid < 0) {
    throw new RangeError(`Cannot read process ${String(pid)} as a pid must be a non-negative integer`);
  }
  const dir = `/proc/${pid}`;
  let stat: string, status: string, cmdline: string, bootSeconds: number;
  try {
    [stat, status, cmdline, bootSeconds] = await Promise.all([
      Deno.readTextFile(`${dir}/stat`),
      Deno.readTextFile(`${dir}/status`),
      Deno.readTextFile(`${dir}/cmdline`),
      bootTime(),
    ]);
  } catch (error) {
    throw explain(error, pid);
  }
  const fields = parseStat(stat);
  const field = fields.number;
  const line = (key: string) => status.match(new RegExp(`^${key}:\\s*(.*)$`, "m"))?.[1] ?? "";
  const uid = Number(line("Uid").split(/\s+/)[0]);
  const [exe, cwd, openFiles, username] = await Promise.all([
    readLinkOrNull(`${dir}/exe`),
    readLinkOrNull(`${dir}/cwd`),
    openFilesOf(dir),
    userName(uid),
  ]);
  return {
    pid,
    ppid: field(4),
    name: fields.comm,
    exe,
    cwd,
    cmdline: cmdline.split("\0").filter((arg, i, all) => arg !== "" || i < all.length - 1),
    status: STATUS[fields.text(3)] ?? fields.text(3),
    username,
    createTime: new Date((bootSeconds + field(22) / TICKS_PER_SECOND) * 1000),
    cpuTimes: cpuTimesOf(fields),
    memory: { rss: kilobytes(line("VmRSS")) ?? field(24) * PAGE_BYTES, vms: field(23) },
    numThreads: field(20),
    openFiles,
  };
}

/** "1234 kB" in bytes; undefined for an empty field (a zombie has none). */
function kilobytes(text: string): number | undefined {
  const kb = text.match(/^(\d+) kB$/)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

function assertLinux(what: string): void {
  if (Deno.build.os !== "linux") {
    throw new ProcessError(`Cannot use ${what}() on ${Deno.build.os}: it reads Linux's /proc`);
  }
}

/** The error for a failed read of `/proc/<pid>`: gone, denied, or not permitted by Deno. */
function explain(error: unknown, pid: number): unknown {
  if (error instanceof Deno.errors.NotFound) return new NoSuchProcessError(pid);
  if (error instanceof Deno.errors.NotCapable) {
    return new ProcessError(
      "Cannot read /proc without Deno's read permission: run with --allow-read=/proc,/etc/passwd",
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) return new AccessDeniedError(pid);
  return error;
}

let bootSeconds: Promise<number> | undefined;

/** When the machine booted, in seconds since the epoch (`btime` in /proc/stat). */
function bootTime(): Promise<number> {
  return bootSeconds ??= Deno.readTextFile("/proc/stat").then((text) =>
    Number(text.match(/^btime (\d+)$/m)?.[1])
  );
}

async function readLinkOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readLink(path);
  } catch {
    return null;
  }
}

async function openFilesOf(dir: string): Promise<string[] | null> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${dir}/fd`)) {
      const target = await readLinkOrNull(`${dir}/fd/${entry.name}`);
      // As psutil's open_files: regular files only, not sockets, pipes or devices.
      if (target?.startsWith("/") && !target.startsWith("/dev/") && !target.startsWith("/proc/")) {
        files.push(target);
      }
    }
  } catch {
    return null;
  }
  return files;
}

/** The name of user `uid`, from /etc/passwd, or the uid as text. */
async function userName(uid: number): Promise<string> {
  try {
    const passwd = await Deno.readTextFile("/etc/passwd");
    for (const entry of passwd.split("\n")) {
      const [name, , id] = entry.split(":");
      if (Number(id) === uid && name) return name;
    }
  } catch {
    // No passwd to read (a sandbox): the uid will do.
  }
  return String(uid);
}
