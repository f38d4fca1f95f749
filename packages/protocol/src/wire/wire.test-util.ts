import { type DescMessage, ScalarType, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { type Event, EventSchema } from '../gen/palisade/v1/event_pb.js';
import { EventBatchSchema } from '../gen/palisade/v1/telemetry_pb.js';

type AnyMessage = Record<string, unknown>;

/**
 * fill sets every field of a message (recursively, `levels` deep) to a distinctive non-default
 * value by walking the schema, so a field added to the .proto is filled too.
 */
export function fill(schema: DescMessage, levels: number, salt: number): AnyMessage {
  const m: AnyMessage = {};
  let n = salt;
  for (const f of schema.fields) {
    n++;
    if (f.fieldKind === 'message') {
      if (levels > 0) m[f.localName] = create(f.message, fill(f.message, levels - 1, n * 7) as never);
    } else if (f.fieldKind === 'list') {
      if (f.listKind === 'message') {
        if (levels > 0) m[f.localName] = [create(f.message, fill(f.message, levels - 1, n * 3) as never)];
      } else if (f.listKind === 'enum') m[f.localName] = [1, 2];
      else m[f.localName] = [scalarValue(f.scalar, n), scalarValue(f.scalar, n + 1)];
    } else if (f.fieldKind === 'scalar') {
      m[f.localName] = scalarValue(f.scalar, n);
    } else if (f.fieldKind === 'enum') {
      m[f.localName] = f.enum.values[1]?.number ?? 0;
    } else if (f.fieldKind === 'map') {
      const key = f.mapKey === ScalarType.STRING ? `k${n}` : String(n);
      m[f.localName] =
        f.mapKind === 'message'
          ? { [key]: create(f.message, levels > 0 ? (fill(f.message, levels - 1, n) as never) : {}) }
          : { [key]: f.mapKind === 'enum' ? 1 : scalarValue(f.scalar, n) };
    }
  }
  return m;
}

export function scalarValue(type: ScalarType, n: number): unknown {
  switch (type) {
    case ScalarType.STRING:
      return n % 2 ? `s${n}-/usr/bin/💡 ünïcødé` : `s${n}-ascii`;
    case ScalarType.BOOL:
      return true;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return 4_000_000_000 - n;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return -n;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return -(2n ** 40n) - BigInt(n);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return 2n ** 63n + BigInt(n);
    case ScalarType.DOUBLE:
      return n + 0.25;
    case ScalarType.FLOAT:
      return n + 0.5;
    case ScalarType.BYTES:
      return new Uint8Array([n & 0xff, 0, 255]);
  }
}

/** fullEvent is an Event with every field set, two levels of messages deep. */
export function fullEvent(salt = 0): Event {
  return create(EventSchema, fill(EventSchema, 3, salt) as never);
}

/** defined drops properties whose value is undefined (the fast decoder declares unset message fields). */
export function defined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(defined);
  if (v instanceof Uint8Array) return v;
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, defined(x)]),
    );
  }
  return v;
}

export function batchOf(events: Event[]): Uint8Array {
  return toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
}

/** reference decodes with protobuf-es (unknown fields not kept, as the fast reader does not keep them). */
export function reference(body: Uint8Array): Event[] {
  return fromBinary(EventBatchSchema, new Uint8Array(body), { readUnknownFields: false }).events;
}

/** lenField encodes a length-delimited field (field number `no`) holding `bytes`. */
export function lenField(no: number, bytes: Uint8Array | number[]): Uint8Array {
  const b = Uint8Array.from(bytes);
  return Uint8Array.from([...varint((no << 3) | 2), ...varint(b.length), ...b]);
}

export function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
