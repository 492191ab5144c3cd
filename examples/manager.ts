// Sharing a dict and a list through a Manager (seed 003, "实现进程之间数据共享的方式":
// `with Manager() as manager: dic = manager.dict(); list = manager.list()`,
// then ten `Process(target=Foo, args=(dic, list))`, each doing
// `dic[os.getpid()] = os.getpid(); list.append(os.getpid()); print(list)`,
// and `print(dic)` once all are joined).
//
// The dict and the list live in the manager's process; `dic` and `list` are
// proxies, and every proxy method is one round trip to it, so every one is
// async here: `dic[k] = v` is `await dic.set(k, v)`, and `print(list)`
// (which in Python asks the manager for the list's repr) is
// `await list.copy()`. The seed's note that the list "is copied each time"
// is not quite right: it stays in the manager, and only `copy()` copies it.
//
// Half the children are isolates (`backend: "worker"`) and half OS
// processes (`backend: "subprocess"`): an OS process cannot share memory
// with its parent, which is why Python users reach for a Manager, and the
// manager serves both alike. Isolates share the program's pid, so
// `os.getpid()` would not tell them apart: the dict is keyed by process
// name, and holds the pid each child saw. As in Python, the manager is
// SyncManager-1, so the children are Process-2 to Process-11.
import { currentProcess, type DictProxy, type ListProxy, Manager, parentProcess, Process } from "../mod.ts";

// def Foo(dic, list):
export async function foo(dic: DictProxy<string, number>, list: ListProxy<string>): Promise<void> {
  const me = currentProcess().name;
  await dic.set(me, Deno.pid); // dic[os.getpid()] = os.getpid()
  await list.append(me); // list.append(os.getpid())
  const kind = Deno.pid === parentProcess()?.pid ? "isolate" : "OS process";
  console.log(`  ${me} (${kind}, pid ${Deno.pid}) sees ${JSON.stringify(await list.copy())}`); // print(list)
}

if (import.meta.main) {
  await using manager = await new Manager().start(); // with Manager() as manager:
  console.log(`main: pid ${Deno.pid}; the manager runs`);
  const dic = await manager.dict<string, number>(); // dic = manager.dict()
  const list = await manager.list<string>(); // list = manager.list()

  const children: Process[] = [];
  const isolates: Process[] = [];
  const osProcesses: Process[] = [];
  for (let i = 0; i < 10; i++) {
    // p = Process(target=Foo, args=(dic, list)); every other one an OS process
    const backend = i % 2 === 0 ? "worker" : "subprocess";
    const p = new Process({ target: foo, args: [dic, list], backend });
    await p.start();
    children.push(p);
    (backend === "worker" ? isolates : osProcesses).push(p);
  }
  for (const p of children) await p.join();

  const seen = await dic.copy(); // print(dic)
  console.log(`main: dic has ${seen.size} entries:`);
  for (const [name, pid] of seen) console.log(`  ${name}: ${pid}`);

  // Every child wrote its own entry, with the pid it saw: the program's for
  // an isolate, one of its own for an OS process.
  const ok = seen.size === 10 && (await list.len()) === 10 &&
    children.every((p) => p.exitCode === 0 && seen.get(p.name) === p.pid) &&
    isolates.every((p) => p.pid === Deno.pid) &&
    new Set(osProcesses.map((p) => p.pid).filter((pid) => pid !== Deno.pid)).size === 5;
  if (!ok) {
    console.log(`EXPECTED 10 ENTRIES, ONE PER CHILD WITH THE PID IT SAW; GOT ${seen.size}`);
    Deno.exit(1);
  }
  console.log(
    `main: all 10 entries arrived, and 10 names in the list: the 5 isolates saw the program's pid ${Deno.pid}, ` +
      `the 5 OS processes 5 pids of their own`,
  );
}
