/**
 * @palisade/protocol is the wire contract between agent and server: protobuf messages, batch
 * framing (LZ4 + crc32), the protocol version both sides check, and the OCSF rendering of events.
 */
export * from './gen/palisade/v1/common_pb.js';
export * from './gen/palisade/v1/event_pb.js';
export * from './gen/palisade/v1/registration_pb.js';
export * from './gen/palisade/v1/telemetry_pb.js';
export * from './gen/palisade/v1/response_pb.js';
export { create, fromBinary, toBinary, clone } from '@bufbuild/protobuf';
export * from './version.js';
export * from './limits.js';
export * from './framing.js';
export * from './ocsf.js';
export * from './restore-code.js';
export * from './response-paths.js';
