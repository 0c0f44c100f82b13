//! Crash safety: the daemon is killed with SIGKILL again and again while a client streams keyed stock
//! adjustments. Every acknowledged adjustment must survive, and no retried one may apply twice.

use crate::harness::Daemon;
use crate::stock::{ADJUST, assert_chained, assert_verified, ledger, level, product_with_stock};
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

const OPENING: i64 = 100;
const WORKERS: usize = 4;
const MIN_KILLS: usize = 8;
const MIN_ACKED: usize = 300;

/// A small deterministic generator (SplitMix64), so every run kills at the same pace.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[derive(Default)]
struct Queue {
    /// Keys whose request failed without an answer; they are sent again, with the same key.
    retry: Vec<u64>,
    in_flight: usize,
}

#[derive(Default)]
struct Outcomes {
    /// Keys answered APPLIED.
    applied: HashSet<u64>,
    /// Keys answered DUPLICATE (a retry of a request whose answer was lost).
    duplicate: HashSet<u64>,
    /// Keys whose request failed at least once (the daemon was down or died mid-request).
    failed: HashSet<u64>,
    /// Answers that were neither an outcome nor a transport failure.
    unexpected: Vec<String>,
}

impl Outcomes {
    fn acked(&self) -> usize {
        self.applied.len() + self.duplicate.len()
    }
}

struct Client {
    base: RwLock<String>,
    token: String,
    http: reqwest::Client,
    queue: Mutex<Queue>,
    next_key: AtomicU64,
    issuing: AtomicBool,
    outcomes: Mutex<Outcomes>,
}

fn key_name(k: u64) -> String {
    format!("crash-{k}")
}

impl Client {
    /// The next key to send: a failed one first, else a new one while issuing; `None` when all is done.
    async fn take(&self) -> Option<u64> {
        loop {
            {
                let mut q = self.queue.lock().expect("queue");
                if let Some(k) = q.retry.pop() {
                    q.in_flight += 1;
                    return Some(k);
                }
                if self.issuing.load(Ordering::SeqCst) {
                    q.in_flight += 1;
                    return Some(self.next_key.fetch_add(1, Ordering::SeqCst));
                }
                if q.in_flight == 0 {
                    return None;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends one adjustment; `None` when no answer arrived (connection refused or cut).
    async fn send(&self, k: u64) -> Option<(u16, serde_json::Value)> {
        let base = self.base.read().expect("base").clone();
        let resp = self
            .http
            .post(format!("{base}/graphql"))
            .bearer_auth(&self.token)
            .json(&json!({"query": ADJUST, "variables": {
                "ws": "default", "sku": "CRASH-1", "delta": 1, "reason": "stream", "key": key_name(k)
            }}))
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        let body = resp.json::<serde_json::Value>().await.ok()?;
        Some((status, body))
    }

    async fn work(self: Arc<Self>) {
        while let Some(k) = self.take().await {
            let answer = self.send(k).await;
            let mut failed = false;
            {
                let mut o = self.outcomes.lock().expect("outcomes");
                match answer {
                    None => failed = true,
                    Some((200, body)) if body.get("errors").is_none() => {
                        match body["data"]["adjustStock"]["outcome"].as_str() {
                            Some("APPLIED") => {
                                if !o.applied.insert(k) || o.duplicate.contains(&k) {
                                    o.unexpected.push(format!("{} applied twice", key_name(k)));
                                }
                            }
                            Some("DUPLICATE") => {
                                if !o.failed.contains(&k) {
                                    o.unexpected.push(format!(
                                        "{} was new but answered DUPLICATE",
                                        key_name(k)
                                    ));
                                }
                                if o.applied.contains(&k) {
                                    o.unexpected
                                        .push(format!("{} acknowledged twice", key_name(k)));
                                }
                                o.duplicate.insert(k);
                            }
                            _ => {
                                failed = true;
                                o.unexpected.push(format!("{}: {body}", key_name(k)));
                            }
                        }
                    }
                    Some((status, body)) => {
                        failed = true;
                        o.unexpected
                            .push(format!("{}: HTTP {status} {body}", key_name(k)));
                    }
                }
                if failed {
                    o.failed.insert(k);
                }
            }
            {
                let mut q = self.queue.lock().expect("queue");
                if failed {
                    q.retry.push(k);
                }
                q.in_flight -= 1;
            }
            if failed {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_safety_under_sigkill() {
    let mut d = Daemon::start();
    let token = d.token("ingest", &["default"]);
    product_with_stock(&d, &token, "default", "CRASH-1", OPENING).await;

    let client = Arc::new(Client {
        base: RwLock::new(d.base.clone()),
        token: token.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client"),
        queue: Mutex::new(Queue::default()),
        next_key: AtomicU64::new(0),
        issuing: AtomicBool::new(true),
        outcomes: Mutex::new(Outcomes::default()),
    });
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| tokio::spawn(client.clone().work()))
        .collect();
    let acked = || client.outcomes.lock().expect("outcomes").acked();

    let mut rng = SplitMix(0x00C0_FFEE);
    let mut kills = 0;
    while kills < MIN_KILLS || acked() < MIN_ACKED {
        assert!(
            kills < 80,
            "only {} acknowledged after {kills} kills",
            acked()
        );
        let uptime = 150 + rng.next() % 251;
        tokio::time::sleep(Duration::from_millis(uptime)).await;
        let acked_before_kill = acked();
        tokio::task::block_in_place(|| {
            d.kill9();
            d.spawn();
        });
        kills += 1;
        *client.base.write().expect("base") = d.base.clone();
        // Everything acknowledged before the crash is there; nothing beyond what was sent.
        let (on_hand, _, _) = level(&d, &token, "default", "CRASH-1").await;
        let issued = client.next_key.load(Ordering::SeqCst);
        assert!(
            on_hand >= OPENING + i64::try_from(acked_before_kill).expect("count"),
            "after kill {kills}: on hand {on_hand} but {acked_before_kill} adjustments were acknowledged"
        );
        assert!(
            on_hand <= OPENING + i64::try_from(issued).expect("count"),
            "after kill {kills}: on hand {on_hand} but only {issued} adjustments were sent"
        );
    }

    // Stop issuing new keys; keep retrying the unanswered ones until each got its answer.
    client.issuing.store(false, Ordering::SeqCst);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("the client finishes its retries")
            .expect("worker");
    }
    let issued = client.next_key.load(Ordering::SeqCst);
    let o = std::mem::take(&mut *client.outcomes.lock().expect("outcomes"));
    assert!(
        o.unexpected.is_empty(),
        "unexpected answers: {:?}",
        o.unexpected
    );
    assert!(o.acked() >= MIN_ACKED, "only {} acknowledged", o.acked());
    let acked: HashSet<String> = o
        .applied
        .union(&o.duplicate)
        .map(|&k| format!("key:{}", key_name(k)))
        .collect();
    assert_eq!(
        acked.len(),
        usize::try_from(issued).expect("count"),
        "every key was answered"
    );
    assert!(
        !o.failed.is_empty(),
        "no request was ever cut by a kill, so the test proved nothing"
    );
    let unanswered_then_duplicate = o.duplicate.len();

    // One last crash right after the final writes; the data at rest must fold correctly.
    tokio::task::block_in_place(|| d.kill9());
    assert_verified(&d);
    tokio::task::block_in_place(|| d.spawn());

    let entries = ledger(&d, &token, "default", "CRASH-1").await;
    assert_eq!(entries[0]["reason"], "count");
    assert_eq!(entries[0]["deltaOnHand"], OPENING);
    assert_chained(&entries);
    let mut applied = HashSet::new();
    for e in &entries[1..] {
        let id = e["sourceEventId"].as_str().expect("source event id");
        assert!(applied.insert(id.to_owned()), "{id} was applied twice");
        assert_eq!(e["deltaOnHand"], 1, "{e}");
    }
    let lost: Vec<_> = acked.difference(&applied).collect();
    assert!(lost.is_empty(), "acknowledged but not applied: {lost:?}");
    let phantom: Vec<_> = applied.difference(&acked).collect();
    assert!(phantom.is_empty(), "applied but never sent: {phantom:?}");
    let (on_hand, committed, _) = level(&d, &token, "default", "CRASH-1").await;
    assert_eq!(
        on_hand,
        OPENING + i64::try_from(applied.len()).expect("count")
    );
    assert_eq!(committed, 0);
    eprintln!(
        "crash test: {kills} kills, {issued} keys, {unanswered_then_duplicate} answered DUPLICATE on retry"
    );
}
