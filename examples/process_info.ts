// Process information (seed 004, "获取全部进程信息": psutil.pids() and
// psutil.Process(pid) for every process): troupe's pids() and processInfo()
// read the same facts from Linux's /proc. The seed prints a dict of every
// process; here a table, and then the same facts for this program's own
// children: a worker child shares the program's pid (it is a thread of this
// OS process), a subprocess child has a pid of its own whose parent is us.
import { currentProcess, type OsProcessInfo, pids, Process, processInfo } from "../mod.ts";

export async function report(): Promise<void> {
  const me = await processInfo();
  console.log(`  ${currentProcess().name}: pid ${me.pid}, parent ${me.ppid}, ${me.name} (${me.status})`);
}

function row(p: OsProcessInfo, parents: Map<number, string>): string {
  const cpu = (p.cpuTimes.user + p.cpuTimes.system).toFixed(2);
  const rss = (p.memory.rss / 2 ** 20).toFixed(1);
  return [
    String(p.pid).padStart(7),
    p.name.padEnd(16),
    String(p.ppid).padStart(7),
    (parents.get(p.ppid) ?? "").padEnd(16),
    p.status.padEnd(9),
    p.username.padEnd(8),
    `${cpu.padStart(7)} s`,
    `${rss.padStart(7)} MB`,
    String(p.numThreads).padStart(4),
  ].join(" ");
}

if (import.meta.main) {
  if (Deno.build.os !== "linux") {
    console.log(`process info reads Linux's /proc; this is ${Deno.build.os}`);
    Deno.exit(0);
  }
  // psutil.pids(), then psutil.Process(pid) for each: a process may exit in between.
  const infos: OsProcessInfo[] = [];
  for (const pid of await pids()) {
    try {
      infos.push(await processInfo(pid));
    } catch {
      // Gone since pids() listed it, or not ours to read.
    }
  }
  const parents = new Map(infos.map((p) => [p.pid, p.name]));
  console.log("    pid name                ppid parent           status    user         cpu        rss thr");
  for (const p of infos) console.log(row(p, parents));
  console.log(`main: ${infos.length} processes`);

  const me = infos.find((p) => p.pid === Deno.pid)!;
  console.log(`main: this program is pid ${me.pid}, ${me.name}, started ${me.createTime.toISOString()}`);
  console.log(`main: its command line is ${JSON.stringify(me.cmdline.slice(0, 3))}…, cwd ${me.cwd}`);
  for (const backend of ["worker", "subprocess"] as const) {
    const p = new Process({ target: report, backend });
    await p.start();
    await p.join();
  }
}
