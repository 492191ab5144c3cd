import assert from "node:assert/strict";
import { runProgram } from "./_helpers.ts";

/** Runs an example as its README says, and returns what it printed. */
async function runExample(name: string): Promise<string> {
  const { code, stdout, stderr } = await runProgram(new URL(`../examples/${name}.ts`, import.meta.url));
  assert.equal(code, 0, stderr);
  return stdout;
}

const expectations: Record<string, RegExp[]> = {
  process_function: [
    /we is running in Process-1 with \{ args3: "x3", args4: "x4" \}/,
    /Process-1 exited with code 0/,
  ],
  clock_process: [/(ClockProcess-1: the time is .*\n){3}ClockProcess-1 exited with code 0/],
  daemon: [/task1 \(daemon\) starts/, /task2 ends/, /daemon exitCode=-15, task2 exitCode=0/],
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
  demo: [/speedup \d+\.\d\dx on \d+ cores, same answer/],
};

for (const [name, patterns] of Object.entries(expectations)) {
  Deno.test(`examples/${name}.ts runs and prints what the README promises`, async () => {
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
