//! `creatorflow import orders|refunds|ad-spend|content` as a seller runs it: the real binary on a fresh data
//! directory, checked through the database it wrote.

use crate::harness::{PG_ENV, daemon_bin, repo_root};
use sea_orm::{EntityTrait, PaginatorTrait};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    repo_root().join("daemon/import/tests/fixtures").join(name)
}

fn golden(name: &str) -> PathBuf {
    repo_root().join("daemon/import/tests/golden").join(name)
}

fn import(data: &Path, args: &[&str], file: &Path) -> Output {
    Command::new(daemon_bin())
        .arg("import")
        .args(args)
        .arg(file)
        .arg("--data-dir")
        .arg(data)
        .env_remove(PG_ENV)
        .env("CREATORFLOW_LOG__FILTER", "warn")
        .output()
        .expect("run creatorflow")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn store(data: &Path) -> creatorflow_store::Store {
    let key = std::fs::read_to_string(data.join("credentials.key")).expect("key file");
    let cipher = creatorflow_store::CredentialCipher::from_base64(&key).expect("key");
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.join("creatorflow.db").display()
    );
    creatorflow_store::Store::connect(&creatorflow_store::DbOptions::new(url), cipher)
        .await
        .expect("connect")
}

async fn counts(data: &Path) -> (u64, u64, u64) {
    use creatorflow_store::entity::{customer, order, order_line};
    let store = store(data).await;
    let db = store.db();
    (
        order::Entity::find().count(db).await.expect("orders"),
        order_line::Entity::find().count(db).await.expect("lines"),
        customer::Entity::find().count(db).await.expect("customers"),
    )
}

#[tokio::test]
async fn order_exports_import_once_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path();

    // A bad file first: refused whole with the row-by-row report, nothing written.
    let out = import(data, &["orders"], &golden("bad_orders.csv"));
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "bad_orders.csv: 13 of 17 rows are invalid; nothing was imported (use --skip-invalid to import the 4 \
             valid rows)."
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "row 3, column unit_price: \"19.999\" has 3 decimals, but USD allows at most 2"
        ),
        "{stderr}"
    );
    assert_eq!(counts(data).await, (0, 0, 0));

    // Each layout, detected from its header.
    for (file, layout, summary) in [
        (
            "orders_own.csv",
            "CreatorFlow orders",
            "3 orders from 4 rows: 3 applied, 0 already imported before",
        ),
        (
            "orders_shopify.csv",
            "Shopify order export",
            "3 orders from 4 rows: 3 applied, 0 already imported before",
        ),
        (
            "orders_tiktok.csv",
            "TikTok Shop order export",
            "2 orders from 3 rows: 2 applied, 0 already imported before",
        ),
    ] {
        let out = import(data, &["orders"], &fixture(file));
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("{file} ({layout}): {summary}")),
            "{stdout}"
        );
        // No progress bar when stderr is not a terminal.
        assert_eq!(text(&out.stderr), "", "{file}");
    }
    let imported = counts(data).await;
    assert_eq!(imported, (8, 11, 7));

    // The same files again: nothing changes.
    for (file, orders) in [
        ("orders_own.csv", 3),
        ("orders_shopify.csv", 3),
        ("orders_tiktok.csv", 2),
    ] {
        let out = import(data, &["orders"], &fixture(file));
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(&format!(
                "0 applied, {orders} already imported before, 0 older than what is stored, 0 refused"
            )),
            "{}",
            text(&out.stdout)
        );
    }
    assert_eq!(counts(data).await, imported);

    // With --skip-invalid the bad file's valid orders go in (B-1 with its two scattered rows, B-13, B-14).
    let out = import(
        data,
        &["orders", "--skip-invalid"],
        &golden("bad_orders.csv"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("3 orders from 4 rows: 3 applied"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(counts(data).await, (11, 15, 8));
}

#[tokio::test]
async fn refunds_need_their_order_and_a_refused_file_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path();
    // The orders are not there yet: the write path refuses the first refund and the file's one transaction
    // rolls back.
    let out = import(data, &["refunds"], &fixture("refunds.csv"));
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("refunds.csv: the write path refused row 2, refund R-1 of order M-1001: order M-1001 is unknown"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    let products = dir.path().join("products.csv");
    std::fs::write(
        &products,
        "sku,title,price\nLV-SP30-S,Speedy 30,1280\nTEE-1,Creator Tee,25\n",
    )
    .expect("write");
    for (kind, file) in [
        ("products", products.as_path()),
        ("orders", fixture("orders_own.csv").as_path()),
        ("refunds", fixture("refunds.csv").as_path()),
        ("ad-spend", fixture("ad_spend.csv").as_path()),
        ("content", fixture("content.csv").as_path()),
    ] {
        let out = import(data, &[kind], file);
        assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
    }
    let again = import(data, &["refunds"], &fixture("refunds.csv"));
    assert!(
        text(&again.stdout).contains("2 refunds from 3 rows: 0 applied, 2 already imported before"),
        "{}",
        text(&again.stdout)
    );
    use creatorflow_store::entity::{order, refund};
    let store = store(data).await;
    assert_eq!(
        refund::Entity::find()
            .count(store.db())
            .await
            .expect("refunds"),
        2
    );
    let m1001 = order::Entity::find()
        .all(store.db())
        .await
        .expect("orders")
        .into_iter()
        .find(|o| o.external_id == "M-1001")
        .expect("M-1001");
    assert_eq!(
        (m1001.total_minor, m1001.refunded_minor),
        (139_340, 133_000)
    );
}

#[test]
fn an_unknown_header_and_a_foreign_connection_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = import(dir.path(), &["orders"], &golden("bad_header_orders.csv"));
    assert_eq!(out.status.code(), Some(65));
    let stderr = text(&out.stderr);
    for layout in [
        "CreatorFlow orders",
        "Shopify order export",
        "TikTok Shop order export",
    ] {
        assert!(stderr.contains(layout), "{stderr}");
    }
    let out = import(
        dir.path(),
        &["orders", "--connection", "999"],
        &fixture("orders_own.csv"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("connection 999 not found in workspace `default`"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `creatorflow ARGS` under `script`, which gives it a terminal, and returns what the terminal showed.
fn on_a_terminal(args: &str) -> String {
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("{} {args}", daemon_bin().display()),
            "/dev/null",
        ])
        .env_remove(PG_ENV)
        .env("CREATORFLOW_LOG__FILTER", "warn")
        .output()
        .expect("run script (util-linux)");
    assert!(out.status.success(), "{}", text(&out.stdout));
    text(&out.stdout)
}

#[test]
fn imports_and_exports_show_progress_on_a_terminal() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().display().to_string();
    let products = dir.path().join("products.csv");
    std::fs::write(&products, "sku,title,price\nTEE-1,Creator Tee,25\n").expect("write");
    let shown = on_a_terminal(&format!(
        "import products {} --data-dir {data}",
        products.display()
    ));
    assert!(shown.contains("reading ["), "{shown}");
    let orders = fixture("orders_own.csv").display().to_string();
    let shown = on_a_terminal(&format!("import orders {orders} --data-dir {data}"));
    // The check and the import each show rows per second and the time left.
    for bar in [" checking [", "importing ["] {
        assert!(shown.contains(bar), "{shown}");
    }
    assert!(
        shown.contains("4 rows, ") && shown.contains(" rows/s, ETA "),
        "{shown}"
    );
    let stock = dir.path().join("stock.csv").display().to_string();
    let shown = on_a_terminal(&format!("export stock --data-dir {data} --output {stock}"));
    assert!(shown.contains("exporting ["), "{shown}");
}
