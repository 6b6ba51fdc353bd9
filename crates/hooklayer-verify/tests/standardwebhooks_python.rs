//! Signatures made by the reference Python library, `standardwebhooks` (PyPI), verify here.
//!
//! The library runs in a virtualenv: `$HOOKLAYER_TEST_PYTHON`, else
//! `target/standardwebhooks-venv/bin/python` at the workspace root (`.ci/run` creates it with
//! a pinned version). Without it the test prints SKIPPED, except under `CI=true`, where it
//! fails.

use hooklayer_verify::{Scheme, Verifier};
use std::path::PathBuf;
use std::process::Command;

/// Signs messages with the library and prints one JSON object per message.
const SIGNER: &str = r#"
import json, sys
from datetime import datetime, timezone
from standardwebhooks.webhooks import Webhook
secret = sys.argv[1]
now = int(datetime.now(tz=timezone.utc).timestamp())
for i, body in enumerate(json.loads(sys.stdin.read())):
    msg_id = f"msg_{i}"
    sig = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, tz=timezone.utc), body)
    print(json.dumps({"id": msg_id, "timestamp": str(now), "signature": sig, "body": body}))
"#;

fn python() -> Option<PathBuf> {
    let path = match std::env::var_os("HOOKLAYER_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/standardwebhooks-venv/bin/python"),
    };
    let usable = Command::new(&path)
        .args(["-c", "import standardwebhooks"])
        .output()
        .is_ok_and(|o| o.status.success());
    usable.then_some(path)
}

#[test]
fn signatures_made_by_the_standardwebhooks_library_verify() {
    let Some(python) = python() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no python with the standardwebhooks library (run .ci/run, or set HOOKLAYER_TEST_PYTHON)"
        );
        println!("SKIPPED: no python with the standardwebhooks library");
        return;
    };
    let bodies = [
        r#"{"event":{"type":"message.sent"},"message":{"id":"m1"}}"#,
        r#"{"text":"héllo ✓ /slash/"}"#,
        "",
        "not json at all",
    ];
    // Two secrets of the library's form (the library base64-decodes every secret).
    for secret in [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_c2VjcmV0LXdpdGgtbWFueS1ieXRlcy0wMTIzNDU2Nzg5",
    ] {
        let mut child = Command::new(&python)
            .args(["-c", SIGNER, secret])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python starts");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(serde_json::to_string(&bodies).unwrap().as_bytes())
            .unwrap();
        let out = child.wait_with_output().expect("python runs");
        assert!(out.status.success(), "the signer failed");
        let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), bodies.len());
        let verifier = Verifier::new(secret);
        for signed in lines {
            let text = |k: &str| signed[k].as_str().unwrap().to_owned();
            let headers = [
                ("webhook-id", text("id")),
                ("webhook-timestamp", text("timestamp")),
                ("webhook-signature", text("signature")),
            ];
            let body = text("body");
            let verified = verifier.verify(&headers, body.as_bytes());
            assert_eq!(
                verified.map(|v| v.schemes()),
                Ok(vec![Scheme::Standard]),
                "{signed}"
            );
            let mut tampered = body.clone().into_bytes();
            tampered.push(b' ');
            assert!(verifier.verify(&headers, &tampered).is_err());
        }
    }
}
