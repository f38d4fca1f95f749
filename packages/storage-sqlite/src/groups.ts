import type { GroupPolicy, GroupRecord } from '@palisade/storage';
import { PalisadeError } from '@palisade/common';
import { isForeignKeyViolation, mapConstraint, notFound } from './errors.js';
import type { Statements } from './statements.js';

interface GroupRow {
  id: string;
  name: string;
  created_at: number;
  policy: string;
}

function toRecord(r: GroupRow): GroupRecord {
  return { id: r.id, name: r.name, createdAt: r.created_at, policy: JSON.parse(r.policy) as GroupPolicy };
}

const COLS = 'id, name, created_at, policy';

/** Groups stores agent groups; the policy is kept as JSON because it is read and written whole. */
export class Groups {
  constructor(private readonly st: Statements) {}

  create(g: GroupRecord): void {
    try {
      this.st
        .get('INSERT INTO groups (id, name, created_at, policy) VALUES (?, ?, ?, ?)')
        .run(g.id, g.name, g.createdAt, JSON.stringify(g.policy));
    } catch (err) {
      mapConstraint(
        err,
        () => `a group with id ${JSON.stringify(g.id)} or name ${JSON.stringify(g.name)} already exists`,
        () => 'group references a missing record',
      );
    }
  }

  get(id: string): GroupRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM groups WHERE id = ?`).get(id) as GroupRow | undefined;
    return r && toRecord(r);
  }

  getByName(name: string): GroupRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM groups WHERE name = ?`).get(name) as GroupRow | undefined;
    return r && toRecord(r);
  }

  /** list returns every group, oldest first. */
  list(): GroupRecord[] {
    return (this.st.get(`SELECT ${COLS} FROM groups ORDER BY created_at, id`).all() as GroupRow[]).map(
      toRecord,
    );
  }

  update(id: string, patch: { name?: string; policy?: GroupPolicy }): void {
    let changes: number;
    try {
      changes = this.st
        .get('UPDATE groups SET name = coalesce(?, name), policy = coalesce(?, policy) WHERE id = ?')
        .run(patch.name ?? null, patch.policy ? JSON.stringify(patch.policy) : null, id).changes;
    } catch (err) {
      mapConstraint(
        err,
        () => `a group named ${JSON.stringify(patch.name)} already exists`,
        () => 'group references a missing record',
      );
    }
    if (changes === 0) throw notFound('group', id);
  }

  /** delete removes a group and its registration keys; a group that still has agents is refused. */
  delete(id: string): void {
    let changes: number;
    try {
      changes = this.st.get('DELETE FROM groups WHERE id = ?').run(id).changes;
    } catch (err) {
      if (!isForeignKeyViolation(err)) throw err;
      throw new PalisadeError(
        'conflict',
        `group ${JSON.stringify(id)} still has agents; move them to another group first`,
      );
    }
    if (changes === 0) throw notFound('group', id);
  }
}
