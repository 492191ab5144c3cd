/**
 * The child bootstraps, imported by every entry point that can start a
 * process only so that they are in the program's static module graph: what
 * `deno cache` fetches, a lock file pins and `deno compile` embeds. A host
 * starts a child on a URL, which no tool follows. Imported this way a
 * bootstrap does nothing (`isBootstrap`).
 *
 * Not from the hosts: they load under `_runtime.ts`'s top-level await, and a
 * bootstrap imports the runtime, so the two would wait on each other.
 *
 * @module
 */

import "./_child_worker.ts";
import "./_child_subprocess.ts";
