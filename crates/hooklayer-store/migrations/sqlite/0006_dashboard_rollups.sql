-- Kept figures for the dashboard (SPEC §13), so no page reads more than a bounded number of rows
-- however large the log.

-- The per-minute statistics summed by quarter hour (quarter = Unix minute / 15), kept by the
-- recorder in the same transaction as delivery_stats. A day of a webhook is 96 rows instead of
-- 1,440: the 24 h charts (a bar per quarter) and the 24 h success rate read these. Filled here
-- from the per-minute rows an existing database already has; pruned with them.
CREATE TABLE delivery_stats_15m (
    webhook_id TEXT NOT NULL,
    quarter    INTEGER NOT NULL,
    succeeded  INTEGER NOT NULL,
    failed     INTEGER NOT NULL,
    b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL, b4 INTEGER NOT NULL,
    b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL, b8 INTEGER NOT NULL, b9 INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, quarter)
);
CREATE INDEX delivery_stats_15m_quarter ON delivery_stats_15m(quarter);
INSERT INTO delivery_stats_15m (webhook_id, quarter, succeeded, failed, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9)
SELECT webhook_id, minute / 15, SUM(succeeded), SUM(failed), SUM(b0), SUM(b1), SUM(b2), SUM(b3),
       SUM(b4), SUM(b5), SUM(b6), SUM(b7), SUM(b8), SUM(b9)
FROM delivery_stats GROUP BY webhook_id, minute / 15;

-- Failed deliveries only (a small part of the log): the system page counts them up to a cap
-- and the queue samples count them, without walking succeeded or pending rows.
CREATE INDEX deliveries_failed ON deliveries(finished_at) WHERE status = 'failed';

-- Queue depth over time for the operator's chart: one row per minute (Unix minutes), written
-- by a worker (the first process to sample a minute keeps it), pruned with the statistics.
CREATE TABLE queue_samples (
    minute  INTEGER PRIMARY KEY,
    pending INTEGER NOT NULL,
    due     INTEGER NOT NULL,
    failed  INTEGER NOT NULL
);
