/**
 * OTP-style supervisors: children restarted by `one_for_one`, `one_for_all`
 * or `rest_for_one`, within a restart intensity, each reached through an
 * `ActorRef` that survives its restarts.
 *
 * ```ts
 * import { Supervisor } from "@troupe/troupe/supervisor";
 *
 * await using sup = new Supervisor({ children: [] });
 * await sup.start();
 * console.log(sup.countChildren().specs); // 0
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
// Keeps the child bootstraps in the module graph (see _bootstraps.ts).
import "../runtime/_bootstraps.ts";

export {
  type ChildInfo,
  type ChildSpec,
  MAILBOX_SIZE,
  Supervisor,
  SupervisorError,
  type SupervisorEventDetail,
  type SupervisorEventMap,
  type SupervisorOptions,
} from "./supervisor.ts";
