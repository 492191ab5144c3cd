/**
 * The modules of the objects a child may get in its args beyond queues,
 * pipes and actors (which every child loads): locks and shared values, and
 * manager proxies. A child imports this only when its args hold one, so
 * that `revive` can rebuild it and a child without them starts no slower.
 *
 * @module
 */

import "../sync/barrier.ts";
import "../sync/event.ts";
import "../manager/proxy.ts";
import "../sync/semaphore.ts";
import "../sync/shared_memory.ts";
import "../manager/sync_proxy.ts";
