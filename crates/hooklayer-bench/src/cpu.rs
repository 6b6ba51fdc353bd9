//! CPU time of processes, from `/proc/<pid>/stat` (Linux): what a delivery costs the machine,
//! as opposed to how fast it goes.
//!
//! Used for hooklayer itself and for the PostgreSQL backends serving the scenario's database
//! (found through `pg_stat_activity`; the server may run other databases, so only those
//! backends are counted — the shared background processes, WAL writer and checkpointer, are not).

use std::collections::HashMap;

use sqlx::{Connection as _, PgConnection};

/// The kernel's `USER_HZ`: the unit of `utime`/`stime` in `/proc/<pid>/stat`. It is part of the
/// userspace ABI and 100 on every mainstream Linux architecture.
const TICKS_PER_SEC: f64 = 100.0;

/// User + system CPU seconds of `pid` so far; `None` when `/proc` cannot tell.
pub fn process_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: fields count from the
    // last `)`. utime and stime are fields 14 and 15, so 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

/// CPU seconds per PostgreSQL backend connected to the database of `url` (excluding the
/// connection used to ask). Empty when the server cannot be asked or is not on this machine.
pub async fn postgres_backends(url: &str) -> HashMap<u32, f64> {
    let Ok(mut conn) = PgConnection::connect(url).await else {
        return HashMap::new();
    };
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    let _ = conn.close().await;
    pids.into_iter()
        .filter_map(|pid| {
            let pid = u32::try_from(pid).ok()?;
            Some((pid, process_cpu_secs(pid)?))
        })
        .collect()
}

/// CPU seconds the backends used between two [`postgres_backends`] samples. A backend born in
/// between counts whole; one that exited in between is lost (hooklayer keeps its pool open, so
/// that is rare and makes the figure low, never high).
pub fn backends_delta(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, secs)| secs - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu() {
        if cfg!(target_os = "linux") {
            assert!(process_cpu_secs(std::process::id()).is_some_and(|s| s >= 0.0));
        }
    }

    #[test]
    fn backends_born_in_between_count_whole() {
        let before = HashMap::from([(1, 2.0), (2, 1.0)]);
        let after = HashMap::from([(1, 2.5), (3, 0.25)]);
        assert!((backends_delta(&before, &after) - 0.75).abs() < 1e-9);
    }
}
