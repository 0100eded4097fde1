// Versioned schema migrations. The version lives in SQLite's `user_version`; every pending migration is
// applied at open inside one transaction, so a failure leaves the file exactly as it was.
// Append new migrations; never edit one that has shipped.
export interface Migration {
  version: number
  description: string
  sql: string
}

const NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ','now'))"

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'domains, corpora, experiments, runs, metrics, checkpoints',
    sql: `
      CREATE TABLE domains (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        description TEXT,
        created_at  TEXT NOT NULL DEFAULT ${NOW}
      );
      CREATE TABLE corpus_files (
        id        INTEGER PRIMARY KEY,
        domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        path      TEXT NOT NULL,
        sha256    TEXT NOT NULL,
        bytes     INTEGER NOT NULL,
        documents INTEGER,
        tokens    INTEGER,
        UNIQUE (domain_id, path)
      );
      CREATE TABLE experiments (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        config_json TEXT NOT NULL,
        config_hash TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL DEFAULT ${NOW}
      );
      CREATE TABLE runs (
        id            INTEGER PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        status        TEXT NOT NULL CHECK (status IN ('queued','running','paused','finished','failed','cancelled')),
        backend       TEXT,
        created_at    TEXT NOT NULL DEFAULT ${NOW},
        started_at    TEXT,
        ended_at      TEXT,
        error         TEXT
      );
      CREATE INDEX runs_by_experiment ON runs(experiment_id);
      CREATE TABLE metrics (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        phase       TEXT NOT NULL,
        step        INTEGER NOT NULL,
        tokens_seen INTEGER NOT NULL,
        wall_s      REAL NOT NULL,
        flops       REAL NOT NULL,
        name        TEXT NOT NULL,
        value       REAL NOT NULL,
        -- one value per series and step: a resumed run that repeats steps replaces them instead of doubling;
        -- clustered by run so reading one run's curves is one range scan
        PRIMARY KEY (run_id, name, step)
      ) WITHOUT ROWID;
      CREATE TABLE checkpoints (
        id         INTEGER PRIMARY KEY,
        run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step       INTEGER NOT NULL,
        path       TEXT NOT NULL,
        bytes      INTEGER NOT NULL,
        sha256     TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT ${NOW}
      );
      CREATE INDEX checkpoints_by_run ON checkpoints(run_id, step);
    `
  },
  {
    version: 2,
    description: 'lifelong structure: streams, run stages, stage-tagged checkpoints, downstream evaluations',
    sql: `
      CREATE TABLE streams (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL DEFAULT ${NOW}
      );
      CREATE TABLE stream_domains (
        stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
        position  INTEGER NOT NULL,
        domain_id INTEGER NOT NULL REFERENCES domains(id),
        PRIMARY KEY (stream_id, position)
      );
      CREATE TABLE stages (
        id         INTEGER PRIMARY KEY,
        run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx        INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        domain     TEXT,
        status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','finished','failed')),
        params_json TEXT,
        started_at TEXT,
        ended_at   TEXT,
        UNIQUE (run_id, idx)
      );
      ALTER TABLE checkpoints ADD COLUMN stage_id INTEGER REFERENCES stages(id);
      CREATE TABLE evaluations (
        id            INTEGER PRIMARY KEY,
        run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE SET NULL,
        task          TEXT NOT NULL,
        domain        TEXT NOT NULL,
        metric        TEXT NOT NULL,
        value         REAL NOT NULL,
        seed          INTEGER NOT NULL,
        created_at    TEXT NOT NULL DEFAULT ${NOW}
      );
      CREATE INDEX evaluations_by_run ON evaluations(run_id, task);
    `
  },
  {
    version: 3,
    description: 'training: run ownership heartbeats, run folders, domain sources and prompt slots',
    sql: `
      ALTER TABLE runs ADD COLUMN owner TEXT;
      ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
      ALTER TABLE runs ADD COLUMN run_dir TEXT;
      ALTER TABLE runs ADD COLUMN progress_json TEXT;
      ALTER TABLE domains ADD COLUMN source_json TEXT;
      ALTER TABLE domains ADD COLUMN prompt_slot INTEGER;
      ALTER TABLE domains ADD COLUMN builtin INTEGER NOT NULL DEFAULT 0;
      CREATE UNIQUE INDEX domains_by_prompt_slot ON domains(prompt_slot) WHERE prompt_slot IS NOT NULL;
    `
  },
  {
    version: 4,
    description: 'evaluations record their fine-tuning settings, so scores made with different settings are never mixed',
    sql: `
      ALTER TABLE evaluations ADD COLUMN settings_json TEXT;
    `
  },
  {
    version: 5,
    description: 'streams in use: a built-in flag, the stream a run ran on; metrics carry their phase as kind, stage and domain instead of a label',
    // The phase label "<kind>-<stage>:<domain>" (kind [a-z_]+, stage digits) is parsed here once; a label of
    // another shape keeps its text as the kind, with no stage or domain (as the comparison read it before).
    sql: `
      ALTER TABLE streams ADD COLUMN builtin INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE runs ADD COLUMN stream_id INTEGER REFERENCES streams(id);
      CREATE INDEX runs_by_stream ON runs(stream_id);
      CREATE INDEX stream_domains_by_domain ON stream_domains(domain_id);
      CREATE TABLE metrics_v5 (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind        TEXT NOT NULL,
        stage       INTEGER,
        domain      TEXT,
        step        INTEGER NOT NULL,
        tokens_seen INTEGER NOT NULL,
        wall_s      REAL NOT NULL,
        flops       REAL NOT NULL,
        name        TEXT NOT NULL,
        value       REAL NOT NULL,
        PRIMARY KEY (run_id, name, step)
      ) WITHOUT ROWID;
      INSERT INTO metrics_v5 (run_id, kind, stage, domain, step, tokens_seen, wall_s, flops, name, value)
        SELECT run_id,
               CASE WHEN ok THEN substr(phase, 1, dash - 1) ELSE phase END,
               CASE WHEN ok THEN CAST(substr(rest, 1, colon - 1) AS INTEGER) END,
               CASE WHEN ok THEN substr(rest, colon + 1) END,
               step, tokens_seen, wall_s, flops, name, value
        FROM (
          SELECT *, dash > 1 AND substr(phase, 1, dash - 1) NOT GLOB '*[^a-z_]*'
                    AND colon > 1 AND substr(rest, 1, colon - 1) NOT GLOB '*[^0-9]*' AS ok
          FROM (SELECT *, instr(rest, ':') AS colon FROM (SELECT *, substr(phase, dash + 1) AS rest FROM (SELECT *, instr(phase, '-') AS dash FROM metrics)))
        );
      DROP TABLE metrics;
      ALTER TABLE metrics_v5 RENAME TO metrics;
    `
  },
  {
    version: 6,
    description: 'jobs (evaluate, fine-tune, grow, export, import, add a domain) and cancel requests for runs another process trains',
    sql: `
      CREATE TABLE jobs (
        id            INTEGER PRIMARY KEY,
        kind          TEXT NOT NULL,
        params_json   TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('queued','running','finished','failed','cancelled')),
        progress_json TEXT,
        result_json   TEXT,
        error         TEXT,
        owner         TEXT,
        cancel_requested_at TEXT,
        created_at    TEXT NOT NULL DEFAULT ${NOW},
        started_at    TEXT,
        ended_at      TEXT
      );
      CREATE INDEX jobs_by_status ON jobs(status);
      ALTER TABLE runs ADD COLUMN cancel_requested_at TEXT;
    `
  },
  {
    version: 7,
    description: 'saved experiments: named configs designed in the workbench and kept without running them',
    sql: `
      CREATE TABLE saved_experiments (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        config_json TEXT NOT NULL,
        created_at  TEXT NOT NULL DEFAULT ${NOW},
        updated_at  TEXT NOT NULL DEFAULT ${NOW}
      );
    `
  },
  {
    version: 8,
    description: 'the persistent run queue: entries in order with priority, dependencies, group and budget; the queue settings and paused flag',
    sql: `
      CREATE TABLE queue_entries (
        run_id      INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        -- the order: ascending, rewritten densely when entries move
        position    INTEGER NOT NULL,
        priority    INTEGER NOT NULL DEFAULT 0,
        group_name  TEXT,
        -- run ids that must finish first
        after_json  TEXT NOT NULL DEFAULT '[]',
        budget_json TEXT,
        -- training seconds counted against the budget
        trained_s   REAL NOT NULL DEFAULT 0,
        -- why it last stopped: window, paused, shutdown, budget, interrupted (null: it did not stop on the queue's account)
        stop_reason TEXT,
        message     TEXT,
        -- a process that trains this entry itself (elle run): queue runners leave it alone while that process lives
        reserved_by TEXT,
        enqueued_at TEXT NOT NULL DEFAULT ${NOW}
      );
      CREATE INDEX queue_entries_by_position ON queue_entries(position);
      CREATE TABLE queue_state (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        settings_json TEXT NOT NULL DEFAULT '{}',
        paused        INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO queue_state (id) VALUES (1);
      -- runs left queued by an older version (its queue lived in memory) join the queue in the order they were made
      INSERT INTO queue_entries (run_id, position) SELECT id, id FROM runs WHERE status = 'queued';
    `
  },
  {
    version: 9,
    description: 'the runs table: tags and a note per run, and saved views (the comparison and table state a link names)',
    sql: `
      ALTER TABLE runs ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT '';
      CREATE TABLE saved_views (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        state_json TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT ${NOW},
        updated_at TEXT NOT NULL DEFAULT ${NOW}
      );
    `
  },
  {
    version: 10,
    description: 'metric blocks: every series also as blocks of 4,096 steps of Float64 columns, so curves of 100 runs × 100,000 points read in a second',
    // Derived from the metrics table (src/main/engine/store/series.ts): maintained on insert; blocks of runs
    // written before this version are built on their first read (SQL cannot write Float64 blobs).
    sql: `
      CREATE TABLE metric_blocks (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name   TEXT NOT NULL,
        -- floor(step / 4096)
        block  INTEGER NOT NULL,
        n      INTEGER NOT NULL,
        -- a random stamp per build: a reader's decoded copy is good while the stamp is unchanged
        built  INTEGER NOT NULL,
        -- the block's points in step order, each column little-endian Float64
        step   BLOB NOT NULL,
        tokens BLOB NOT NULL,
        wall   BLOB NOT NULL,
        flops  BLOB NOT NULL,
        value  BLOB NOT NULL,
        PRIMARY KEY (run_id, name, block)
      ) WITHOUT ROWID;
    `
  },
  {
    version: 11,
    description: 'jobs in the queue: an entry is a run or a job (evaluate, fine-tune, ...) in one shared order; dependencies on jobs too',
    // queue_entries is rebuilt with its own id (an entry is keyed by run_id or job_id); run entries keep every field.
    sql: `
      CREATE TABLE queue_entries_v11 (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('run','job')),
        run_id          INTEGER UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
        job_id          INTEGER UNIQUE REFERENCES jobs(id) ON DELETE CASCADE,
        position        INTEGER NOT NULL,
        priority        INTEGER NOT NULL DEFAULT 0,
        group_name      TEXT,
        -- run ids, then job ids, that must finish first
        after_json      TEXT NOT NULL DEFAULT '[]',
        after_jobs_json TEXT NOT NULL DEFAULT '[]',
        budget_json     TEXT,
        trained_s       REAL NOT NULL DEFAULT 0,
        stop_reason     TEXT,
        message         TEXT,
        reserved_by     TEXT,
        -- a job entry: what its worker gets (ids resolved to paths), taken when it was queued
        work_json       TEXT,
        enqueued_at     TEXT NOT NULL DEFAULT ${NOW},
        CHECK ((kind = 'run' AND run_id IS NOT NULL AND job_id IS NULL) OR (kind = 'job' AND job_id IS NOT NULL AND run_id IS NULL AND work_json IS NOT NULL))
      );
      INSERT INTO queue_entries_v11 (kind, run_id, position, priority, group_name, after_json, budget_json, trained_s, stop_reason, message, reserved_by, enqueued_at)
        SELECT 'run', run_id, position, priority, group_name, after_json, budget_json, trained_s, stop_reason, message, reserved_by, enqueued_at FROM queue_entries;
      DROP TABLE queue_entries;
      ALTER TABLE queue_entries_v11 RENAME TO queue_entries;
      CREATE INDEX queue_entries_by_position ON queue_entries(position);
    `
  },
  {
    version: 12,
    description: 'metric summaries: per series per 64-step slice its count, sum, min, max and last value, so the overview of 100 runs × 100,000 points reads 1/64 of the data',
    // A rowid table, not WITHOUT ROWID: a summary row (3.6 kB) fits one page of a rowid table, while WITHOUT ROWID
    // keeps ~1 kB in the page and chains the rest (reading 100 runs' summaries: 58 against 200 ms, same store).
    // Derived from metric_blocks (src/main/engine/store/series.ts): written with each block in the same transaction,
    // stamped with the block's `built`; a reader uses a summary only while its stamp equals its block's, so a block
    // rebuilt or deleted (a rewrite, a resumed run) can never be answered from a stale summary. Blocks written before
    // this version get their summary on their first overview read (SQL cannot write Float64 blobs).
    sql: `
      CREATE TABLE metric_summaries (
        run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name     TEXT NOT NULL,
        -- the block it summarises: floor(step / 4096), 64 slices of 64 steps
        block    INTEGER NOT NULL,
        -- the stamp (built) of the block when this summary was made
        built    INTEGER NOT NULL,
        -- per slice, little-endian Float64 × 64: points, of them finite values, sum of steps, sum of finite values,
        -- min and max of the finite values (NaN when none), last finite value (NaN when none)
        n        BLOB NOT NULL,
        finite   BLOB NOT NULL,
        sum_step BLOB NOT NULL,
        sum      BLOB NOT NULL,
        min      BLOB NOT NULL,
        max      BLOB NOT NULL,
        last     BLOB NOT NULL,
        UNIQUE (run_id, name, block)
      );
      -- the stamps of a series' blocks without reading the blocks (a block row is ~160 kB: reading 100 runs' keys
      -- from metric_blocks itself took 0.57 s, from this index 4 ms)
      CREATE INDEX metric_blocks_stamps ON metric_blocks(run_id, name, block, built);
    `
  }
]

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version
