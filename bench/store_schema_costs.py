#!/usr/bin/env python3
"""What each part of the SQLite store's schema costs per lifecycle event.

Writes the records of a lifecycle event as SQLite store does (the crossing row rewritten at its
next version, an audit record, an idempotent response; each command in its own savepoint, 64
events per transaction, WAL with synchronous=NORMAL and no automatic checkpoint), on the schema
of src/store/migrations.cpp, then again with one part of it changed. Python's sqlite3 module
adds its own constant cost per statement, so compare the variants with each other, not with the
C++ store (ingest_bench --only events-store64 measures that).

    python3 bench/store_schema_costs.py [--seconds 3] [--crossings 64] [VARIANT ...]

Variants (joined with '+', e.g. no-subject-index+no-savepoint): as-committed, no-savepoint,
narrow-update (an UPDATE naming only the changed columns), no-company-plate-index,
seq-as-rowid, no-created-index, no-subject-index, event-log. Prints events/s, CPU µs per event
and the WAL bytes written per event (every page a commit dirties is one WAL frame).

`event-log` is the product decision that issue 2's goal waits for (docs/benchmarks.md, "the
bounds in one place"), not the schema of today: each event is one row appended to a log (its
audit record and its idempotent response together, found by key through an index on
time-ordered keys), and the current-state rows are written back once every 16 groups instead of
in the event's own transaction. It measures what design (a) would save in the store.
"""
import argparse
import os
import re
import sqlite3
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ['as-committed', 'no-savepoint', 'narrow-update', 'no-company-plate-index',
            'seq-as-rowid', 'no-created-index', 'no-subject-index', 'event-log']
EVENT_LOG_DDL = '''
CREATE TABLE event_log (
  seq INTEGER PRIMARY KEY,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  body TEXT NOT NULL,
  response TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE UNIQUE INDEX event_log_key_idx ON event_log (scope, key);
'''
WRITE_BACK_EVERY = 16  # groups between two write-backs of the current-state rows (event-log)


def schema(variant):
    text = open(os.path.join(ROOT, 'src', 'store', 'migrations.cpp'), encoding='utf-8').read()
    ddl = re.search(r'kInitialSql = R"sql\((.*?)\)sql"', text, re.S).group(1)
    triggers = re.search(r'kInitialSqliteSql = R"sql\((.*?)\)sql"', text, re.S).group(1)
    if 'no-company-plate-index' in variant:
        ddl = re.sub(r'CREATE INDEX crossings_(company|plate)_idx.*?;\n', '', ddl)
    if 'seq-as-rowid' in variant:
        ddl = ddl.replace('seq BIGINT PRIMARY KEY', 'seq INTEGER PRIMARY KEY')
    if 'no-created-index' in variant:
        ddl = re.sub(r'CREATE INDEX idempotency_created_idx.*?;\n', '', ddl)
    if 'no-subject-index' in variant:
        ddl = re.sub(r'CREATE INDEX audit_log_subject_idx.*?;\n', '', ddl)
    return ddl, triggers


def run(variant, seconds, crossings, directory, number):
    path = os.path.join(directory, f'{number}-{variant}.db')
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ('journal_mode=WAL', 'synchronous=NORMAL', 'cache_size=-65536',
                   'wal_autocheckpoint=0', 'temp_store=MEMORY'):
        db.execute('PRAGMA ' + pragma)
    ddl, triggers = schema(variant)
    db.executescript(ddl)
    db.executescript(triggers)
    event_log = 'event-log' in variant
    if event_log:
        db.executescript(EVENT_LOG_DDL)
    doc, body, response = 'x' * 1850, 'y' * 300, 'z' * 1900  # sizes as in ingest_bench
    ids = ['CR-%04d' % i for i in range(crossings)]
    db.execute('BEGIN')
    for cid in ids:
        db.execute('INSERT INTO crossings VALUES (?,?,?,?,?,?,?,?,?,?)',
                   (cid, 'COMPANY-A', 'VN-CN', 'fresh_produce', 'at_gate', '12C12345', 1, 0, 0, doc))
    db.execute('COMMIT')
    version = dict.fromkeys(ids, 1)
    narrow = 'narrow-update' in variant
    update = ('UPDATE crossings SET state = :2, version = :3, updated_at_ms = :4, doc = :5 '
              'WHERE id = :1 AND version = :6' if narrow else
              'UPDATE crossings SET company_id = :7, direction = :8, lane_class = :9, state = :2, '
              'plate = :10, version = :3, created_at_ms = 0, updated_at_ms = :4, doc = :5 '
              'WHERE id = :1 AND version = :6')
    savepoints = 'no-savepoint' not in variant
    seq = events = groups = 0
    dirty = set()
    cpu0, wall0 = time.process_time(), time.time()
    while time.time() - wall0 < seconds:
        db.execute('BEGIN IMMEDIATE')
        groups += 1
        for _ in range(64):
            if event_log:
                seq += 1
                cid = ids[seq % crossings]
                version[cid] += 1
                dirty.add(cid)
                key = 'bench-%012d' % seq
                if savepoints:
                    db.execute('SAVEPOINT bf_fn')
                db.execute('SELECT response FROM event_log WHERE scope = ? AND key = ?',
                           ('Ucustoms', key)).fetchall()
                db.execute('INSERT INTO event_log VALUES (?,?,?,?,?,?,?,?)',
                           (seq, 'Ucustoms', key, cid, body, response, 'h' * 64, 'g' * 64))
                if savepoints:
                    db.execute('RELEASE bf_fn')
                events += 1
                continue
            seq += 1
            cid = ids[seq % crossings]
            v = version[cid]
            version[cid] = v + 1
            key = 'bench-%012d' % seq
            if savepoints:
                db.execute('SAVEPOINT bf_fn')
            db.execute('SELECT response FROM idempotency WHERE scope = ? AND key = ?',
                       ('Ucustoms', key)).fetchall()
            args = {'1': cid, '2': 'inspecting' if seq % 2 else 'at_gate', '3': v + 1, '4': seq,
                    '5': doc, '6': v}
            if not narrow:
                args.update({'7': 'COMPANY-A', '8': 'VN-CN', '9': 'fresh_produce', '10': '12C12345'})
            db.execute(update, args)
            db.execute('INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?,?)',
                       (seq, seq, 'U-CUSTOMS', 'customs_officer', 'crossing', cid,
                        'record_inspection', body, 'h' * 64, 'g' * 64))
            db.execute('INSERT INTO idempotency VALUES (?,?,?,?,?,?)',
                       ('Ucustoms', key, 'fp', 200, response, seq))
            if savepoints:
                db.execute('RELEASE bf_fn')
            events += 1
        if event_log and groups % WRITE_BACK_EVERY == 0:
            for cid in sorted(dirty):
                db.execute('UPDATE crossings SET state = ?, version = ?, updated_at_ms = ?, doc = ? '
                           'WHERE id = ?', ('inspecting', version[cid], seq, doc, cid))
            dirty.clear()
        db.execute('COMMIT')
    cpu, wall = time.process_time() - cpu0, time.time() - wall0
    wal_bytes = os.path.getsize(path + '-wal')  # no checkpoint ran: every frame written is there
    db.close()
    print(f'{variant:40s} {events / wall:8.0f} events/s {1e6 * cpu / events:6.0f} µs CPU/event '
          f'{wal_bytes / events / 1024:5.1f} KiB WAL/event', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=3)
    parser.add_argument('--crossings', type=int, default=64)
    parser.add_argument('variants', nargs='*', default=VARIANTS)
    args = parser.parse_args()
    for variant in args.variants:
        unknown = set(variant.split('+')) - set(VARIANTS)
        if unknown:
            parser.error(f'unknown variant {sorted(unknown)}; known: {", ".join(VARIANTS)}')
    with tempfile.TemporaryDirectory() as directory:
        for number, variant in enumerate(args.variants):
            run(variant, args.seconds, args.crossings, directory, number)


if __name__ == '__main__':
    main()
