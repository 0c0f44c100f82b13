//! Another process holding the SQLite write lock: the daemon answers `BUSY` (retryable, nothing changed),
//! never `INTERNAL`, and the same request succeeds once the lock is gone.

use crate::harness::{Daemon, Opts, code};
use crate::stock::{ADJUST, product_with_stock};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_write_while_another_process_holds_the_lock_is_busy_not_internal() {
    if crate::harness::pg_admin_url().is_some() {
        // PostgreSQL has no database-wide write lock; row locks are covered by the concurrency tests.
        eprintln!("SQLite-only test; skipped on PostgreSQL");
        return;
    }
    let d = Daemon::start_with(Opts {
        config: Some("[database]\nbusy_timeout_ms = 300\n".into()),
        ..Opts::default()
    });
    let admin = d.admin_token();
    product_with_stock(&d, &admin, "default", "LOCK-1", 5).await;

    // A second writer (as an import in another process would) takes the write lock and keeps it.
    let db = d.data_dir.join("creatorflow.db");
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)\n\
             c.execute('BEGIN IMMEDIATE')\n\
             print('locked', flush=True)\n\
             time.sleep(3)\n\
             c.execute('ROLLBACK')\n",
        ])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    {
        use std::io::BufRead;
        let out = holder.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("read");
        assert_eq!(line.trim(), "locked");
    }

    let vars =
        json!({"ws": "default", "sku": "LOCK-1", "delta": 2, "reason": "count", "key": "busy-1"});
    let started = Instant::now();
    let (status, body) = d.gql(Some(&admin), ADJUST, vars.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "BUSY", "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused within the busy timeout, not after minutes: {:?}",
        started.elapsed()
    );

    holder.wait().expect("holder exits");
    // Nothing was applied, so the same request (same idempotency key) now applies once.
    let data = d.ok(&admin, ADJUST, vars).await;
    assert_eq!(data["adjustStock"]["outcome"], "APPLIED", "{data}");
    assert_eq!(data["adjustStock"]["level"]["onHand"], 7);
}
