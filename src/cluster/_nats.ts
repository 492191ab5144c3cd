/**
 * The NATS client, pinned: the only place troupe imports a dependency, so
 * the core stays dependency-free (`tests/deps_test.ts` checks it).
 *
 * @module
 */

export { connect } from "npm:@nats-io/transport-node@3.4.0";
export type { ConnectionOptions, NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
export {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "npm:@nats-io/jetstream@3.4.0";
export type { JetStreamClient, JetStreamManager, JsMsg } from "npm:@nats-io/jetstream@3.4.0";
