-- Per-minute delivery statistics for the dashboard's charts (SPEC §13), kept by the recorder as
-- it commits attempts, so a chart never scans the attempts table. One row per webhook and
-- minute (Unix minutes): attempts that succeeded and failed, and their durations in buckets
-- with upper bounds 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 ms and beyond (b0..b9).
-- Pruned with the delivery log's retention.
CREATE TABLE delivery_stats (
    webhook_id TEXT NOT NULL,
    minute     INTEGER NOT NULL,
    succeeded  INTEGER NOT NULL,
    failed     INTEGER NOT NULL,
    b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL, b4 INTEGER NOT NULL,
    b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL, b8 INTEGER NOT NULL, b9 INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, minute)
);
CREATE INDEX delivery_stats_minute ON delivery_stats(minute);
