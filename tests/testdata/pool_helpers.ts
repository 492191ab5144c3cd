/** What both pool test files use: a pool over pool_targets.ts, and a scratch directory. */

import { type Backend, Pool, type PoolOptions } from "../../mod.ts";
import { MODULE } from "./pool_targets.ts";

/** A pool of `processes` workers on `backend` that runs pool_targets.ts's functions. */
export function pool(backend: Backend, processes: number, options: PoolOptions = {}): Pool {
  return new Pool({ processes, module: MODULE, backend, ...options });
}

/** A temporary directory, removed when disposed. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "troupe-pool-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}
