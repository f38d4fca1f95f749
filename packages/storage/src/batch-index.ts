/**
 * BatchIndex and its definition, indexOfEvents, live with the batch reader in @palisade/protocol
 * (the server derives the index from the wire bytes there); storage re-exports them because every
 * back end indexes batches by them.
 */
export { type BatchIndex, indexOfEvents } from '@palisade/protocol';
