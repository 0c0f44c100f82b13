//! Install, list, enable, disable, grant and remove through the store's tables, then load what is enabled.

use crate::common::*;
use creatorflow_plugin_host::{
    Grant, LoadState, PluginManager, PluginRegistry, RegistryError, package_plugin,
};
use creatorflow_store::{CredentialCipher, DbOptions, Store};

/// A registry on a fresh migrated SQLite database and plugins directory.
pub async fn registry() -> (PluginRegistry, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("db.sqlite").display()
    );
    let cipher = CredentialCipher::from_key_bytes(&[7u8; 32]).expect("key");
    let store = Store::connect(&DbOptions::new(url), cipher)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let registry = PluginRegistry::new(store.db().clone(), dir.path().join("plugins"));
    (registry, dir)
}

fn packaged(dir: &str, crate_name: &str, out: &std::path::Path) -> std::path::PathBuf {
    package_plugin(
        &repo_root().join("plugins").join(dir).join("plugin.toml"),
        &wasm(crate_name),
        out,
    )
    .expect("package");
    out.to_path_buf()
}

#[tokio::test]
async fn plugin_lifecycle_through_the_registry() {
    let (registry, dir) = registry().await;
    let connector_dir = packaged(
        "template-connector",
        "template-connector",
        &dir.path().join("pkg-connector"),
    );
    let metric_dir = packaged(
        "contribution-margin",
        "contribution-margin",
        &dir.path().join("pkg-metric"),
    );

    let installed = registry
        .install(&connector_dir)
        .await
        .expect("install connector");
    assert!(installed.enabled);
    assert!(installed.grants.is_empty(), "nothing is granted at install");
    assert!(installed.wasm_path.is_file());
    registry
        .install(&metric_dir.join("plugin.toml"))
        .await
        .expect("install metric by manifest path");
    let ids: Vec<String> = registry
        .list()
        .await
        .expect("list")
        .iter()
        .map(|p| p.id().to_owned())
        .collect();
    assert_eq!(ids, ["contribution-margin", "template-connector"]);

    // Grants: only what the manifest asks for.
    registry
        .grant(
            "template-connector",
            Grant::host("https://API.example-market.com/").expect("origin"),
        )
        .await
        .expect("grant host");
    registry
        .grant(
            "template-connector",
            Grant::secret("access_token").expect("n"),
        )
        .await
        .expect("grant secret");
    registry
        .grant(
            "template-connector",
            Grant::secret("access_token").expect("n"),
        )
        .await
        .expect("twice is fine");
    let err = registry
        .grant(
            "template-connector",
            Grant::host("https://evil.example.com").expect("origin"),
        )
        .await
        .expect_err("not requested");
    assert!(matches!(err, RegistryError::NotRequested { .. }), "{err}");
    let grants = registry
        .get("template-connector")
        .await
        .expect("get")
        .grants;
    assert_eq!(
        grants,
        [
            Grant::Host("https://api.example-market.com".into()),
            Grant::Secret("access_token".into())
        ]
    );

    // Disabled plugins are not loaded; enabling loads them, disabling unloads them again.
    registry
        .disable("contribution-margin")
        .await
        .expect("disable");
    let host = host();
    let manager = PluginManager::new(registry.clone(), host.host.clone());
    manager.reconcile().await.expect("reconcile");
    let states: Vec<(String, LoadState)> = manager
        .overview()
        .await
        .expect("overview")
        .into_iter()
        .map(|v| (v.installed.id().to_owned(), v.state))
        .collect();
    assert_eq!(
        states,
        [
            ("contribution-margin".to_owned(), LoadState::Disabled),
            ("template-connector".to_owned(), LoadState::Loaded)
        ]
    );
    assert!(host.connector("template-connector").is_ok());
    assert!(host.metric("contribution-margin").is_err());
    registry
        .enable("contribution-margin")
        .await
        .expect("enable");
    manager.reconcile().await.expect("reconcile");
    assert!(host.metric("contribution-margin").is_ok());
    assert!(manager.metric_info("contribution-margin").is_some());
    registry
        .disable("contribution-margin")
        .await
        .expect("disable");
    manager.reconcile().await.expect("reconcile");
    assert!(host.metric("contribution-margin").is_err());
    registry
        .enable("contribution-margin")
        .await
        .expect("enable");

    // Reinstalling (an upgrade) keeps grants and the enabled flag.
    registry
        .disable("template-connector")
        .await
        .expect("disable");
    let again = registry.install(&connector_dir).await.expect("reinstall");
    assert_eq!(again.grants.len(), 2);
    assert!(!again.enabled);

    assert!(
        registry
            .revoke(
                "template-connector",
                &Grant::secret("access_token").expect("n")
            )
            .await
            .expect("revoke")
    );
    registry.remove("template-connector").await.expect("remove");
    assert!(!again.wasm_path.exists(), "files are removed");
    assert!(matches!(
        registry.get("template-connector").await,
        Err(RegistryError::NotInstalled(_))
    ));
    assert!(matches!(
        registry.remove("template-connector").await,
        Err(RegistryError::NotInstalled(_))
    ));
}

#[tokio::test]
async fn invalid_manifests_are_refused_with_every_problem() {
    let (registry, dir) = registry().await;
    let pkg = dir.path().join("bad");
    std::fs::create_dir_all(&pkg).expect("dir");
    std::fs::write(
        pkg.join("plugin.toml"),
        "id = \"bad\"\nkind = \"connector\"\nversion = \"x\"\napi = \"1.0.0\"\nwasm = \"../bad.wasm\"\n[capabilities]\nhosts = [\"ftp://x\"]\n",
    )
    .expect("write");
    let err = registry.install(&pkg).await.expect_err("refused");
    let text = err.to_string();
    for expected in [
        "`version` must be a semantic version",
        "`wasm` must be a file name",
        "ftp://x",
    ] {
        assert!(text.contains(expected), "{expected} missing from: {text}");
    }
    std::fs::write(
        pkg.join("plugin.toml"),
        "id = \"bad\"\nkind = \"connector\"\nsurprise = 1\n",
    )
    .expect("write");
    let err = registry.install(&pkg).await.expect_err("refused");
    assert!(err.to_string().contains("surprise"), "{err}");
}

#[tokio::test]
async fn install_reads_only_regular_files_of_bounded_size() {
    let (registry, dir) = registry().await;
    // A device that never ends: refused before a byte is read.
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        registry.install(std::path::Path::new("/dev/zero")),
    )
    .await
    .expect("refused at once, not read forever")
    .expect_err("a device is not a manifest");
    assert!(err.to_string().contains("not a regular file"), "{err}");

    // A manifest far beyond any real one.
    let huge = dir.path().join("huge.toml");
    std::fs::write(&huge, vec![b'#'; 1 << 20]).expect("write");
    let err = registry.install(&huge).await.expect_err("too large");
    assert!(err.to_string().contains("more than the"), "{err}");

    // A packaged plugin whose component is swapped for a FIFO is refused too.
    let out = packaged(
        "template-metric",
        "template-metric",
        &dir.path().join("pkg"),
    );
    let manifest =
        creatorflow_plugin_host::Manifest::from_file(&out.join("plugin.toml")).expect("manifest");
    let component = out.join(&manifest.wasm);
    std::fs::remove_file(&component).expect("remove");
    let status = std::process::Command::new("mkfifo")
        .arg(&component)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), registry.install(&out))
        .await
        .expect("refused at once")
        .expect_err("a FIFO is not a component");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(registry.list().await.expect("list").is_empty());
}
