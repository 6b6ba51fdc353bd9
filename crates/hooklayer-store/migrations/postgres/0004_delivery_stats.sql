-- Per-minute delivery statistics for the dashboard's charts (SPEC §13), kept by the recorder as
-- it commits attempts, so a chart never scans the attempts table. One row per webhook and
-- minute (Unix minutes): attempts that succeeded and failed, and their durations in buckets
-- with upper bounds 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 ms and beyond (b0..b9).
-- Pruned with the delivery log's retention.
CREATE TABLE delivery_stats (
    webhook_id TEXT COLLATE "C" NOT NULL,
    minute     BIGINT NOT NULL,
    succeeded  BIGINT NOT NULL,
    failed     BIGINT NOT NULL,
    b0 BIGINT NOT NULL, b1 BIGINT NOT NULL, b2 BIGINT NOT NULL, b3 BIGINT NOT NULL, b4 BIGINT NOT NULL,
    b5 BIGINT NOT NULL, b6 BIGINT NOT NULL, b7 BIGINT NOT NULL, b8 BIGINT NOT NULL, b9 BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, minute)
);
CREATE INDEX delivery_stats_minute ON delivery_stats(minute);
