//! The operator CLI: configuration errors (golden files), generated artifacts, migrations.

use crate::harness::{daemon_bin, repo_root};
use std::path::Path;
use std::process::Command;

fn run(args: &[&str], env: &[(String, String)], dir: &Path) -> std::process::Output {
    Command::new(daemon_bin())
        .args(args)
        .envs(env.iter().cloned())
        .current_dir(dir)
        .env_remove(crate::harness::PG_ENV)
        .output()
        .expect("run creatorflow")
}

fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Each fixture pairs invalid configuration with the exact report a user sees from `config check`
/// and `serve`; both must exit with the configuration status (78) and start nothing.
#[test]
fn golden_configuration_errors() {
    let dir = repo_root().join("daemon/app/tests/config");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("expected") {
            continue;
        }
        let expected = std::fs::read_to_string(&path).expect("expected");
        let toml = path.with_extension("toml");
        let env = std::fs::read_to_string(path.with_extension("env"))
            .map(|t| parse_env(&t))
            .unwrap_or_default();
        let toml_str = toml.display().to_string();
        for command in [&["config", "check"][..], &["serve"][..]] {
            let mut args: Vec<&str> = command.to_vec();
            if toml.exists() {
                args.push("--config");
                args.push(&toml_str);
            }
            let out = run(&args, &env, tmp.path());
            assert_eq!(
                out.status.code(),
                Some(78),
                "{} via {command:?}",
                path.display()
            );
            let stderr = String::from_utf8_lossy(&out.stderr).replace(&toml_str, "FILE");
            assert_eq!(
                stderr.trim_end(),
                expected.trim_end(),
                "{} via {command:?}",
                path.display()
            );
        }
        assert!(
            !tmp.path().join("data").exists(),
            "a rejected configuration created the data dir"
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} golden fixtures found");
}

#[test]
fn config_check_accepts_the_documented_defaults() {
    let tmp = tempfile::tempdir().expect("tmp");
    let default = repo_root().join("config/default.toml");
    let out = run(
        &[
            "config",
            "check",
            "--config",
            &default.display().to_string(),
        ],
        &[],
        tmp.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration is valid"));
    let printed = run(&["config", "print-default"], &[], tmp.path());
    let file = std::fs::read_to_string(&default).expect("default.toml");
    assert_eq!(String::from_utf8_lossy(&printed.stdout), file);
}

#[test]
fn committed_schema_is_current() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = run(&["schema", "print"], &[], tmp.path());
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(repo_root().join("schema/schema.graphql")).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "schema/schema.graphql is stale: run `cargo run -p creatorflow -- schema print --output schema/schema.graphql`"
    );
}

#[test]
fn migrate_command_prepares_a_fresh_database() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let data_str = data.display().to_string();
    let out = run(&["migrate", "--data-dir", &data_str], &[], tmp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied 6 migration"));
    let again = run(&["migrate", "--data-dir", &data_str], &[], tmp.path());
    assert!(String::from_utf8_lossy(&again.stdout).contains("applied 0 migration"));
    assert!(data.join("creatorflow.db").exists());
}
