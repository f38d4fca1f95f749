import type Database from 'better-sqlite3';
import { type Clock, type Logger, PalisadeError } from '@palisade/common';

/** Migration is one numbered, forward-only schema change. Applied migrations are never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * MIGRATIONS is the schema history. Events are stored a batch per row (see
 * docs/adr/0003-event-storage-layout.md): `batches` holds the small columns searches filter on and
 * doubles as the dedupe record of (agent_id, seq); `batch_events` holds the search text and the
 * LZ4-compressed EventBatch, read only for candidate batches.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        policy TEXT NOT NULL
      ) STRICT;
      CREATE TABLE registration_keys (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        secret_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        rotated_from TEXT
      ) STRICT;
      CREATE INDEX registration_keys_group ON registration_keys(group_id);
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups(id),
        key_id TEXT NOT NULL,
        machine_id TEXT NOT NULL,
        host TEXT NOT NULL,
        cert_fingerprint TEXT NOT NULL,
        public_key_fingerprint TEXT NOT NULL,
        registered_at INTEGER NOT NULL,
        last_seen_at INTEGER,
        revoked_at INTEGER,
        decommissioned_at INTEGER,
        policy_revision INTEGER NOT NULL,
        capabilities TEXT NOT NULL,
        stats TEXT NOT NULL
      ) STRICT;
      CREATE INDEX agents_group ON agents(group_id);
      CREATE INDEX agents_machine ON agents(machine_id);
      CREATE INDEX agents_key ON agents(key_id);
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
        secret_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL REFERENCES agents(id),
        seq INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        event_count INTEGER NOT NULL,
        min_time INTEGER,
        max_time INTEGER,
        kinds TEXT NOT NULL,
        UNIQUE (agent_id, seq)
      ) STRICT;
      CREATE INDEX batches_agent ON batches(agent_id, id);
      CREATE TABLE batch_events (
        batch_id INTEGER PRIMARY KEY REFERENCES batches(id),
        search_text TEXT NOT NULL,
        body BLOB NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'audit log',
    sql: `
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor_id TEXT,
        actor_name TEXT NOT NULL,
        action TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id TEXT,
        remote_address TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied')),
        details TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_log_at ON audit_log(at);
      CREATE INDEX audit_log_target ON audit_log(target_id);
    `,
  },
  {
    version: 3,
    name: 'registration key quotas and API token expiry',
    sql: `
      ALTER TABLE registration_keys ADD COLUMN max_uses INTEGER CHECK (max_uses IS NULL OR max_uses > 0);
      ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
    `,
  },
  {
    version: 4,
    name: 'agent certificate renewal and revocation',
    // Certificates issued before this migration were valid for exactly one year from registration.
    sql: `
      ALTER TABLE agents ADD COLUMN cert_not_after INTEGER;
      UPDATE agents SET cert_not_after = registered_at + 31536000000;
      ALTER TABLE agents ADD COLUMN cert_ca_sha256 TEXT;
      ALTER TABLE agents ADD COLUMN pending_cert TEXT;
      ALTER TABLE agents ADD COLUMN revocation_reason TEXT;
      ALTER TABLE agents ADD COLUMN pinned_ca_sha256 TEXT NOT NULL DEFAULT '[]';
      -- A number that changes whenever a credential does, so open sessions are re-checked only then.
      CREATE TABLE credential_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL) STRICT;
      INSERT INTO credential_epoch (id, n) VALUES (1, 0);
      CREATE TRIGGER agents_credential_epoch AFTER UPDATE OF revoked_at, decommissioned_at, cert_fingerprint ON agents
        WHEN OLD.revoked_at IS NOT NEW.revoked_at OR OLD.decommissioned_at IS NOT NEW.decommissioned_at
          OR OLD.cert_fingerprint IS NOT NEW.cert_fingerprint
        BEGIN UPDATE credential_epoch SET n = n + 1 WHERE id = 1; END;
    `,
  },
  {
    version: 5,
    name: 'response commands, isolation state, restore codes',
    sql: `
      CREATE TABLE commands (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        agent_id TEXT NOT NULL REFERENCES agents(id),
        type TEXT NOT NULL,
        params TEXT NOT NULL,
        reason TEXT NOT NULL,
        actor_id TEXT,
        actor_name TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'succeeded', 'failed', 'expired')),
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        delivered_at INTEGER,
        finished_at INTEGER,
        error TEXT,
        result TEXT,
        isolation_revision INTEGER
      ) STRICT;
      CREATE INDEX commands_agent ON commands(agent_id, seq);
      CREATE INDEX commands_open ON commands(expires_at) WHERE state IN ('pending', 'delivered');
      CREATE TABLE agent_isolation (
        agent_id TEXT PRIMARY KEY REFERENCES agents(id),
        isolated INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        reason TEXT NOT NULL,
        command_id TEXT,
        changed_at INTEGER NOT NULL,
        actor_name TEXT NOT NULL,
        actual TEXT
      ) STRICT;
      CREATE TABLE agent_restore_codes (
        agent_id TEXT PRIMARY KEY REFERENCES agents(id),
        code_id TEXT NOT NULL,
        verifier TEXT NOT NULL,
        sealed TEXT,
        created_at INTEGER NOT NULL,
        revealed_at INTEGER,
        revealed_by TEXT,
        used_at INTEGER
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'alerts and the detection cursor',
    // The cursor starts at 0: batches stored before this migration are evaluated too.
    sql: `
      CREATE TABLE alerts (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        agent_id TEXT NOT NULL,
        hostname TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        rule_title TEXT NOT NULL,
        rule_kind TEXT NOT NULL CHECK (rule_kind IN ('detection', 'correlation')),
        rule_description TEXT,
        severity TEXT NOT NULL CHECK (severity IN ('informational', 'low', 'medium', 'high', 'critical')),
        severity_rank INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('new', 'in_progress', 'resolved', 'suppressed')),
        assignee TEXT,
        comment TEXT,
        tactics TEXT NOT NULL,
        techniques TEXT NOT NULL,
        group_key TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        evidence TEXT NOT NULL,
        dropped_evidence INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX alerts_open_group ON alerts(group_key, seq) WHERE status != 'resolved';
      CREATE INDEX alerts_agent ON alerts(agent_id, seq);
      CREATE INDEX alerts_rule ON alerts(rule_id, seq);
      CREATE INDEX alerts_status ON alerts(status, seq);
      CREATE TABLE detection_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        batch_id INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      INSERT INTO detection_cursor (id, batch_id, updated_at) VALUES (1, 0, 0);
    `,
  },
  {
    version: 7,
    name: 'playbooks and their runs',
    sql: `
      CREATE TABLE playbooks (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        dry_run INTEGER NOT NULL,
        match TEXT NOT NULL,
        actions TEXT NOT NULL,
        max_isolations_per_hour INTEGER NOT NULL,
        max_runs_per_hour INTEGER NOT NULL,
        webhook_secret_sealed TEXT,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE playbook_runs (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        playbook_id TEXT NOT NULL,
        playbook_name TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        dry_run INTEGER NOT NULL,
        isolated INTEGER NOT NULL,
        acted INTEGER NOT NULL,
        steps TEXT NOT NULL,
        UNIQUE (playbook_id, alert_id)
      ) STRICT;
      CREATE INDEX playbook_runs_at ON playbook_runs(at);
      CREATE INDEX playbook_runs_playbook ON playbook_runs(playbook_id, at);
      CREATE INDEX playbook_runs_alert ON playbook_runs(alert_id);
    `,
  },
  {
    version: 10,
    name: 'console users and sessions',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL,
        must_change_password INTEGER NOT NULL,
        failed_logins INTEGER NOT NULL,
        locked_until INTEGER,
        disabled_at INTEGER,
        last_login_at INTEGER
      ) STRICT;
      CREATE TABLE user_sessions (
        id_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        remote_address TEXT NOT NULL
      ) STRICT;
      CREATE INDEX user_sessions_user ON user_sessions(user_id);
    `,
  },
  {
    version: 11,
    name: 'metrics role for API tokens',
    // SQLite cannot change a CHECK constraint in place: copy the table into one that allows the
    // role (nothing references api_tokens by foreign key).
    sql: `
      CREATE TABLE api_tokens_v11 (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer', 'metrics')),
        secret_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        expires_at INTEGER
      ) STRICT;
      INSERT INTO api_tokens_v11 (id, name, role, secret_hash, created_at, revoked_at, expires_at)
        SELECT id, name, role, secret_hash, created_at, revoked_at, expires_at FROM api_tokens;
      DROP TABLE api_tokens;
      ALTER TABLE api_tokens_v11 RENAME TO api_tokens;
    `,
  },
];

/** SCHEMA_VERSION is the newest schema this build knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT`;

/** schemaVersion reads the highest applied migration, 0 for a fresh database. */
export function schemaVersion(db: Database.Database): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (!table) return 0;
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

function refuseNewer(version: number, known: number, path: string): void {
  if (version > known) {
    throw new PalisadeError(
      'internal',
      `database ${path} has schema version ${version}, newer than the newest this Palisade build knows (${known}); run a newer Palisade or restore a matching backup`,
      { path, schemaVersion: version, supported: known },
    );
  }
}

/**
 * migrate applies every migration newer than the database's version, each in its own IMMEDIATE
 * transaction (so two processes starting at once cannot both apply it, and a failing migration
 * leaves nothing half-applied), and refuses a database written by a newer build rather than guess
 * at its layout. Running it again is a no-op. `migrations` is the schema history (tests pass their own).
 */
export function migrate(
  db: Database.Database,
  path: string,
  clock: Clock,
  logger: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): void {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  refuseNewer(schemaVersion(db), known, path);
  db.exec(CREATE_TABLE);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    const applied = db.transaction(() => {
      const current = schemaVersion(db);
      refuseNewer(current, known, path);
      if (current >= m.version) return false;
      db.exec(m.sql);
      record.run(m.version, m.name, clock.now());
      return true;
    });
    if (applied.immediate())
      logger.info({ version: m.version, migration: m.name }, 'applied schema migration');
  }
}
