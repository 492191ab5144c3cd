/**
 * The modules of the objects a child may get in its args beyond queues,
 * pipes and actors (which every child loads): locks and shared values, and
 * manager proxies. A child imports this only when its args hold one, so
 * that `revive` can rebuild it and a child without them starts no slower.
 *
 * @module
 */

import "./barrier.ts";
import "./event.ts";
import "./proxy.ts";
import "./semaphore.ts";
import "./shared_memory.ts";
import "./sync_proxy.ts";
