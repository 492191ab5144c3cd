import assert from "node:assert/strict";
import { runProgram } from "./_helpers.ts";

/** The demo's job, cut down: the test checks what it shows, not how long it takes to show it. */
const ARGS: Record<string, string[]> = { demo: ["--limit=3000000"] };

/** Runs an example as docs/examples.md says, and returns what it printed. */
async function runExample(name: string): Promise<string> {
  const { code, stdout, stderr } = await runProgram(new URL(`../examples/${name}.ts`, import.meta.url), {
    args: ARGS[name] ?? [],
  });
  assert.equal(code, 0, stderr);
  return stdout;
}

const expectations: Record<string, RegExp[]> = {
  process_info: [
    /^ +pid name +ppid parent/m,
    /main: \d+ processes/,
    /main: this program is pid (\d+), deno/,
    /Process-1: pid \d+, parent \d+, deno/,
    /Process-2: pid \d+, parent \d+, deno/,
  ],
  process_function: [
    /we is running in Process-1 with \{ args3: "x3", args4: "x4" \}/,
    /Process-1 exited with code 0/,
  ],
  clock_process: [/(ClockProcess-1: the time is .*\n){3}ClockProcess-1 exited with code 0/],
  // The whole output: task1, a daemon, is terminated when the main module is done, before it ends its work.
  daemon: [
    /^task1 \(daemon\) starts\n(task2 starts\nmain process is done|main process is done\ntask2 starts)\ntask2 ends\n$/,
  ],
  parallel: [/child Process-3 pid \d+/, /took \d\.\d\d s: they ran in parallel/],
  pids: [
    /main: started a subprocess child, its pid is \d+/,
    /child Process-2: my pid is \d+, my parent's is \d+/,
  ],
  isolation: [/child: x is now 0\nmain: x is still 100/],
  sandbox: [/child: refused: NotCapable/, /the child exited with code 0/],
  producer_consumer: [
    /\[producer-zzz pid \d+ produced \["zzz",4\]\]/,
    /\[consumer-2 \(OS process\) pid \d+ ate \[/,
    /main: the producers are done and a sentinel is in for each consumer/,
    /consumed 10 items, every one exactly once\nconsumer exit codes: 0, 0/,
  ],
  pipe: [
    /main: the OS-process child answered: Process-1 \(pid \d+\) heard "hello"/,
    /main: reader\.readable=true reader\.writable=false/,
    /main: one message from each of children 0, 1, 2, 3, 4\nmain: then EOFError: every writer is closed/,
  ],
  queue: [
    /main: qsize\(\)=3 full\(\)=true empty\(\)=false/,
    /main: put\(block=False\) on a full queue: QueueFullError/,
    /main: put\(timeout=0\.2 s\) on a full queue: QueueFullError: .*full \(maxsize 3\)/,
    /handler: the queue stayed empty for 1000 ms; handled 10 requests/,
    /main: after the child: qsize\(\)=0 empty\(\)=true\nmain: get\(\) after close\(\): QueueClosedError/,
  ],
  supervisor: [
    /4: the worker crashed \(cannot stand 4\); the supervisor restarts it/,
    /9² = 81/,
    /the cache kept every square through the crashes: \[1,4,9,null,25,36,49,null,81\]/,
  ],
  pool_apply: [
    /( {2}pid=(\d+) start run work(\d)\n {2}pid=\2 end run work\3\n){5}apply: \[0,1,4,9,16\] in \d+\.\d\d s/,
    /main: all 5 tasks submitted, none finished yet/,
    /applyAsync: \[0,1,4,9,16\] in \d+\.\d\d s\napplyAsync ran them in parallel/,
  ],
  pool_callback: [
    /---main--- MainProcess pid=\d+\nend\n/,
    / {2}in the pool: PoolWorker-\d pid=\d+/,
    / {2}---exec done---- 109 MainProcess pid=\d+/,
    /seed 003: Bar got \[100,101,102,103,104,105,106,107,108,109\]/,
    / {2}PoolWorker-\d pid=\d+ end run work4/,
    / {2}MainProcess pid=\d+ callback_work 16/,
    /seed 004: get\(\) gives \[0,1,4,9,16\] too/,
    /all 15 callbacks ran in the main process \(MainProcess pid=\d+\), none in a worker/,
  ],
  pool_map: [
    /map: \[1,4,9,16,25,36,49,64,81\]\napplyAsync item by item: \[1,4,9,16,25,36,49,64,81\]/,
    /mapAsync: ready right away\? false\nmapAsync callback in MainProcess: \[1,4,9,.*,81\]/,
    /map with chunksize=3: 3 chunks, each run whole by one worker: \[1,2,3\] \[4,5,6\] \[7,8,9\]/,
    /imap: 1 4 9 16 25 36 49 64 81\nafter the block: <Pool state=TERMINATE pool_size=5>/,
  ],
  pool_failure: [
    / {2}PoolWorker-\d start run work3, and will exit in the middle of it/,
    /work1: succeeded: work1 done\n/,
    /work2: threw: RangeError: work2 failed on purpose\n/,
    /work3: its worker died: WorkerCrashedError \(exit code 3\)\n/,
    /work4: succeeded: work4 done\n/,
    /errorCallback was called for: RangeError, WorkerCrashedError/,
    /the pool still works: \[1,4,9,16,25\]\nstats: completed=7 failed=2 restarts=1\nmain exits/,
  ],
  shared_value: [
    /main: money = Value\("i", 5000\)/,
    /man: earned (\d+) in 30 deposits\n[^]*main: balance = 5000 \+ man's \1 - /,
    /girl: spent (\d+) in 30 withdrawals\n[^]*main: balance = 5000 \+ man's \d+ - girl's \1 = /,
    /main: balance after a month: (-?\d+)\nmain: balance = .* = \1: no update was lost/,
  ],
  shared_array: [
    /main: SharedArray\("i", \[1, 2, 3\]\)\n {2}Process-1: 1\n {2}Process-1: 2\n {2}Process-1: 3\n/,
    / {2}Process-1: set item 1 to 1000\nmain: for i in shm: 1 1000 3\n/,
    /main: SharedArray\("i", \[0, 0, 0\]\)\n( {2}Process-2: 0\n){3} {2}Process-2: set item 1 to 1000\n/,
    /main: for i in shm: 0 1000 0\n/,
    /main: SharedArray\("c", \["h", "e", "l", "l", "o"\]\)\n {2}Process-3: "h"\n {2}Process-3: "e"\n/,
    / {2}Process-3: set item 1 to "H"\nmain: for i in shm: h H l l o\nmain: shm\.value = "hHllo"/,
    /main: after a\[i\] = -a\[i\] in a child: -1 -1000 -3; a\[1\] = -1000\n/,
  ],
  semaphore: [
    /main: Semaphore\(value=3\)\n/,
    ...[1, 2, 3, 4, 5].map((i) =>
      new RegExp(
        `handle-${i} wants to run\\n[^]*handle-${i} runs \\([123] running\\)\\n[^]*handle-${i} is done\\n`,
      )
    ),
    /main: at most 3 ran at once: the peak was 3 of 5\nmain: sem\.getValue\(\) = 3\n/,
  ],
  local_socket: [
    /server: listening on the socket file\nmain: the socket file is a socket: true\nserver: a client connected\n/,
    /server: received "hello"\nmain: sent "hello", the server replied "message 1 received \(5 bytes\)"\n/,
    /server: received "你好, 本地套接字"\nmain: sent .*, the server replied "message 2 received \(23 bytes\)"\n/,
    /server: received "bye"\nmain: sent "bye", the server replied "message 3 received \(3 bytes\)"\n/,
    /server: the client closed; received 3 messages\nmain: the server exited with code 0\nmain: removed the socket file/,
  ],
  manager: [
    /main: pid (\d+); the manager runs\n[^]* {2}Process-\d+ \(isolate, pid \1\) sees \["Process-/,
    / {2}Process-\d+ \(OS process, pid \d+\) sees \["Process-/,
    / sees \[("Process-\d+",){9}"Process-\d+"\]\n/,
    /main: dic has 10 entries:\n( {2}Process-\d+: \d+\n){10}main: all 10 entries arrived, and 10 names in the list/,
    /the 5 isolates saw the program's pid (\d+), the 5 OS processes 5 pids of their own/,
  ],
  cluster: [
    /started a nats-server at nats:\/\/127\.0\.0\.1:\d+|using the nats-server at /,
    /two nodes serve the pool "example", 2 processes each/,
    /killed node-1 with SIGKILL after 40 results/,
    / {2}node-1 ran \d+ tasks\n {2}node-2 ran \d+ tasks\n/,
    /120 of 120 results, 0 lost, 0 received twice/,
  ],
  demo: [
    /^one process: 100% {2}200\/200 chunks/m,
    /✗ killed (PoolWorker-\d+) \(pid \d+\) with SIGKILL while it was counting a chunk/,
    /↻ the pool started PoolWorker-\d+ \(pid \d+\) in its place/,
    /^pool of \d+: 100% {2}200\/200 chunks/m,
    /│ PoolWorker-\d+ +│ +\d+ │ "subprocess" │ +\d+ │ +0 │ "\d+ MB" +│ "\d+\.\d" │ "killed with SIGKILL" +│/,
    /│ PoolWorker-\d+ +│ +\d+ │ "subprocess" │ +\d+ │ +1 │ "\d+ MB" +│ "\d+\.\d" │ "replaced PoolWorker-\d+" +│/,
    /200 of 200 chunks answered, each once; 1 worker restarted; speedup \d+\.\d\dx on \d+ cores, same answer/,
  ],
};

for (const [name, patterns] of Object.entries(expectations)) {
  Deno.test(`examples/${name}.ts runs and prints what its docs promise`, async () => {
    const output = await runExample(name);
    for (const pattern of patterns) assert.match(output, pattern);
  });
}

Deno.test("every example has a deno task and every ex: task has an example", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const examples = [...Deno.readDirSync(new URL("../examples/", import.meta.url))].map((e) => e.name).sort();
  const tasked = Object.keys(tasks).filter((t) => t.startsWith("ex:")).map((t) => `${t.slice(3)}.ts`);
  assert.deepEqual([...tasked, "demo.ts"].sort(), examples);
  assert.deepEqual(Object.keys(expectations).map((e) => `${e}.ts`).sort(), examples);
});

Deno.test("docs/examples.md lists every example, each with its task and file", async () => {
  const page = await Deno.readTextFile(new URL("../docs/examples.md", import.meta.url));
  const listed = [...page.matchAll(/^\| \[`(?:ex:)?(\w+)`\]\(\.\.\/examples\/(\w+)\.ts\) +\|/gm)];
  for (const [row, task, file] of listed) assert.equal(task, file, row);
  const examples = [...Deno.readDirSync(new URL("../examples/", import.meta.url))].map((e) => e.name).sort();
  assert.deepEqual(listed.map(([, task]) => `${task}.ts`).sort(), examples);
});
