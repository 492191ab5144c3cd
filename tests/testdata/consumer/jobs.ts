import type { DictProxy, Lock, Queue } from "../../../mod.ts";

export async function report(queue: Queue<string>, backend: string): Promise<void> {
  await queue.put(`hello from a ${backend} child`);
}

export function double(x: number): number {
  return 2 * x;
}

export async function locked(lock: Lock): Promise<void> {
  await lock.acquire();
  lock.release();
}

export async function store(dict: DictProxy<string, number>): Promise<void> {
  await dict.set("x", 7);
}
