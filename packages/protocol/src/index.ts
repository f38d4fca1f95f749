/**
 * @palisade/protocol is the wire contract between agent and server: protobuf messages, batch
 * framing (LZ4 + crc32), the one reader and writer of batch bytes (check, index, decode; the
 * searchable fields), the protocol version both sides check, and the OCSF rendering of events.
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
export { SEARCH_FIELDS, searchText } from './wire/search-fields.js';
export { type BatchIndex, indexOfEvents } from './wire/batch-index.js';
export { BatchIndexer, WireError, decodeEventBatch, indexEventBatch } from './wire/batch-reader.js';
export {
  EventBatchEncoder,
  clientFrameWithSeq,
  encodeFrameWithoutSeq,
  wrapBatchFrame,
} from './wire/batch-writer.js';
export * from './restore-code.js';
export * from './response-paths.js';
