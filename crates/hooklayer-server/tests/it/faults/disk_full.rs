//! SQLite on a full disk (a small tmpfs of the test's own; needs root to mount, skipped with
//! the reason otherwise): publishes answer 503 while the disk is full, nothing accepted is
//! lost, the database stays intact (`PRAGMA integrity_check`), and service resumes once
//! space returns. The process never exits.

use crate::support::process::{wait_all_arrived, ProcessEnv};
use serde_json::json;
use sqlx::{Connection, SqliteConnection};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mount = dir.path().join("disk");
        std::fs::create_dir(&mount).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { _dir: dir, mount })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

/// Fills the disk with one file until a write fails.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    while file
        .write_all(&chunk)
        .and_then(|()| file.sync_all())
        .is_ok()
    {}
    // Byte by byte for the last partial chunk.
    while file.write_all(&[0]).and_then(|()| file.sync_all()).is_ok() {}
}

/// Publishes one event; returns (status, id, has Retry-After).
async fn publish(http: &reqwest::Client, url: &str, token: &str) -> (u16, String, bool) {
    let id = uuid::Uuid::new_v4().to_string();
    let body =
        json!({"type": "message.sent", "message": {"id": "m", "text": "x".repeat(2000)}, "id": id});
    let reply = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("an answer");
    let retry_after = reply.headers().contains_key("retry-after");
    (reply.status().as_u16(), id, retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_loses_nothing_and_resumes() {
    let disk = match SmallDisk::mount("16m") {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
    let db_path = disk.mount.join("hooklayer.db");
    let env = ProcessEnv::new(&format!("sqlite://{}", db_path.display())).await;
    let mut server = env.start().await;
    let (client, uuid, token) = env.prepare(&server).await;
    drop(client);
    let http = crate::support::app::plain_http_client();
    let url = format!("{}/apps/{uuid}/events", server.base);

    let mut accepted = Vec::new();
    for _ in 0..20 {
        let (status, id, _) = publish(&http, &url, &token).await;
        assert_eq!(status, 202);
        accepted.push(id);
    }
    let filler = disk.mount.join("filler");
    fill(&filler);
    let mut refused = 0;
    for _ in 0..50 {
        let (status, id, retry_after) = publish(&http, &url, &token).await;
        match status {
            202 => accepted.push(id),
            503 => {
                assert!(retry_after, "503 without Retry-After");
                refused += 1;
            }
            other => panic!(
                "answer {other} on a full disk; log:\n{}",
                std::fs::read_to_string(env.log()).unwrap_or_default()
            ),
        }
    }
    assert!(refused > 0, "no publish was refused on a full disk");
    assert!(
        server.child.try_wait().expect("process state").is_none(),
        "hooklayer exited on a full disk"
    );

    std::fs::remove_file(&filler).expect("free the disk");
    let mut resumed = false;
    for _ in 0..100 {
        let (status, id, _) = publish(&http, &url, &token).await;
        if status == 202 {
            accepted.push(id);
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(resumed, "publishing did not resume once space returned");
    wait_all_arrived(&env.receiver, &accepted, Duration::from_secs(60)).await;
    eprintln!(
        "full disk: {refused} of 50 publishes refused with 503, all {} accepted events delivered",
        accepted.len()
    );
    let status = server.try_sigterm(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");

    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db_path.display()))
        .await
        .expect("open the database");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("integrity check");
    assert_eq!(check, "ok");
    conn.close().await.ok();
    server = env.start().await; // and a fresh process opens it
    server.sigterm(Duration::from_secs(10)).await;
}
