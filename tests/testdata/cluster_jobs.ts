/** Functions the cluster tests run on their nodes. */

export function square(x: number): number {
  return x * x;
}

export function add(a: number, b: number): number {
  return a + b;
}

export function fail(message: string): never {
  throw new TypeError(message);
}

/** Returns its argument after `ms` (a task that is still running when its node is killed). */
export async function slowId(x: number, ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return x;
}

/** Which node ran the task: its pid is not enough (workers), so the node sets NODE_NAME. */
export function whoRuns(x: number): [number, string] {
  return [x, Deno.env.get("NODE_NAME") ?? "?"];
}

export function big(bytes: number): Uint8Array {
  return new Uint8Array(bytes);
}

/** Returns `[x, pid]` after `ms`: in a worker-backend node, the pid is the node program's. */
export async function pidAfter(x: number, ms: number): Promise<[number, number]> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return [x, Deno.pid];
}
