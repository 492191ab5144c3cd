/**
 * Every kind of object that lives in shared memory, loaded together: a
 * child imports this when its args hold one, so that `revive` can rebuild it.
 *
 * @module
 */

import "./barrier.ts";
import "./event.ts";
import "./semaphore.ts";
import "./shared_memory.ts";
