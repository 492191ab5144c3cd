// How troupe reports crashes, as a program of its own so its stderr can be read:
//   start <backend> <throws|inline|syntax> <await|ignore>: a child that cannot start
//   supervised <stack|line|none|callback>: a supervised child that crashes on every start
//   pool <stack|line|none|callback>: a pool whose workers' initializer fails
import { Pool, Process, Supervisor } from "../../mod.ts";

export function crashAfterStart(): never {
  throw new Error("crashed on purpose");
}

export function failingInitializer(): never {
  throw new RangeError("the initializer failed on purpose");
}

export function square(x: number): number {
  return x * x;
}

const [what, ...rest] = Deno.args;
const THROWS_AT_IMPORT = new URL("./throws_at_import.ts", import.meta.url).href;

async function start(backend: "worker" | "subprocess", kind: string, awaited: boolean): Promise<void> {
  const modules: Record<string, string> = {
    throws: THROWS_AT_IMPORT,
    syntax: "data:text/javascript,export function t() {}%0Aconst x = ;",
  };
  const p = kind === "inline"
    ? new Process({ target: (x: number) => x, args: [1], backend })
    : new Process({ target: function t() {}, module: modules[kind]!, backend });
  if (awaited) {
    try {
      await p.start();
    } catch (error) {
      console.log(Deno.inspect(error, { colors: false }));
    }
  } else {
    p.start();
  }
  await p.join();
  console.log(`exit code ${p.exitCode}`);
}

async function supervised(mode: string): Promise<void> {
  const errors: string[] = [];
  const crashReports = mode === "callback"
    ? ({ process, error }: { process: string; error: unknown }) => errors.push(`${process}: ${error}`)
    : mode as "stack" | "line" | "none";
  const sup = new Supervisor({
    intensity: 2,
    periodMs: 60_000,
    crashReports,
    spares: false,
    children: [{ id: "crasher", target: crashAfterStart }],
  });
  await sup.start().catch(() => {});
  await sup.done.catch((error) => console.log(`gave up: ${error.name}`));
  for (const error of errors) console.log(`callback: ${error}`);
}

async function pool(mode: string): Promise<void> {
  const errors: string[] = [];
  const crashReports = mode === "callback"
    ? ({ process, error }: { process: string; error: unknown }) => errors.push(`${process}: ${error}`)
    : mode as "stack" | "line" | "none";
  const p = new Pool({ processes: 1, initializer: failingInitializer, crashReports });
  await p.map(square, [1, 2, 3]).catch((error) => console.log(`map failed: ${error.name}`));
  await p.terminate();
  for (const error of errors) console.log(`callback: ${error}`);
}

if (import.meta.main) {
  if (what === "start") await start(rest[0] as "worker" | "subprocess", rest[1]!, rest[2] === "await");
  else if (what === "supervised") await supervised(rest[0]!);
  else if (what === "pool") await pool(rest[0]!);
}
