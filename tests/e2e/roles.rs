//! Every write mutation against every role of a workspace-scoped token: allowed roles get past
//! authorization, the others get `FORBIDDEN` and change nothing. The table must name every mutation of the
//! committed schema, so a new mutation cannot ship without its row.

use crate::harness::{Daemon, code, repo_root};
use serde_json::json;

/// Who may call a mutation.
#[derive(Clone, Copy, Debug)]
enum Policy {
    /// Roles that write data: admin and ingest.
    WriteData,
    /// Workspace admins.
    Administer,
    /// Only global admins; every workspace-scoped token is refused.
    GlobalAdmin,
}

const W: &str = "default";

fn table() -> Vec<(&'static str, Policy, String)> {
    vec![
        (
            "createWorkspace",
            Policy::GlobalAdmin,
            r#"mutation { createWorkspace(input: {slug: "roles-x", name: "X"}) { id } }"#.into(),
        ),
        (
            "createConnection",
            Policy::Administer,
            format!(
                r#"mutation {{ createConnection(input: {{workspace: "{W}", kind: "manual", name: "roles"}}) {{ id }} }}"#
            ),
        ),
        (
            "adjustStock",
            Policy::WriteData,
            format!(
                r#"mutation {{ adjustStock(input: {{workspace: "{W}", sku: "ROLE-1", delta: 1, reason: "r"}}) {{ outcome }} }}"#
            ),
        ),
        (
            "setStock",
            Policy::WriteData,
            format!(
                r#"mutation {{ setStock(input: {{workspace: "{W}", sku: "ROLE-1", onHand: 3}}) {{ outcome }} }}"#
            ),
        ),
        (
            "setStockBatch",
            Policy::WriteData,
            format!(
                r#"mutation {{ setStockBatch(workspace: "{W}", items: [{{sku: "ROLE-1", onHand: 3}}]) {{ index }} }}"#
            ),
        ),
        (
            "transferStock",
            Policy::WriteData,
            format!(
                r#"mutation {{ transferStock(input: {{workspace: "{W}", sku: "ROLE-1", fromLocation: "A", toLocation: "B", quantity: 1}}) {{ outcome }} }}"#
            ),
        ),
        (
            "setStockPolicy",
            Policy::WriteData,
            format!(
                r#"mutation {{ setStockPolicy(input: {{workspace: "{W}", sku: "ROLE-1"}}) {{ outcome }} }}"#
            ),
        ),
        (
            "upsertProduct",
            Policy::WriteData,
            format!(
                r#"mutation {{ upsertProduct(input: {{workspace: "{W}", title: "T", variants: [{{sku: "ROLE-2", title: "M", price: "1.00"}}]}}) {{ outcome }} }}"#
            ),
        ),
        (
            "recordOrder",
            Policy::WriteData,
            format!(
                r#"mutation {{ recordOrder(input: {{workspace: "{W}", externalId: "R-1", status: PAID, lines: [{{sku: "ROLE-1", quantity: 1, unitPrice: "1.00"}}]}}) {{ outcome }} }}"#
            ),
        ),
        (
            "updateOrderStatus",
            Policy::WriteData,
            format!(
                r#"mutation {{ updateOrderStatus(input: {{workspace: "{W}", externalId: "R-1", status: FULFILLED}}) {{ outcome }} }}"#
            ),
        ),
        (
            "recordReturn",
            Policy::WriteData,
            format!(
                r#"mutation {{ recordReturn(input: {{workspace: "{W}", orderExternalId: "R-1", amount: "1.00", lines: [{{sku: "ROLE-1", quantity: 1, sellable: true}}]}}) {{ outcome }} }}"#
            ),
        ),
        (
            "ingestEvents",
            Policy::WriteData,
            format!(r#"mutation {{ ingestEvents(workspace: "{W}", events: []) {{ index }} }}"#),
        ),
        (
            "updateWorkspaceSettings",
            Policy::Administer,
            format!(
                r#"mutation {{ updateWorkspaceSettings(workspace: "{W}", input: {{forbidNegativeManual: false}}) {{ forbidNegativeManual }} }}"#
            ),
        ),
        (
            "installPlugin",
            Policy::GlobalAdmin,
            r#"mutation { installPlugin(path: "/nonexistent") { id } }"#.into(),
        ),
        (
            "installPluginPackage",
            Policy::GlobalAdmin,
            r#"mutation { installPluginPackage(manifest: "x", componentBase64: "") { id } }"#
                .into(),
        ),
        (
            "enablePlugin",
            Policy::GlobalAdmin,
            r#"mutation { enablePlugin(id: "nope") { id } }"#.into(),
        ),
        (
            "disablePlugin",
            Policy::GlobalAdmin,
            r#"mutation { disablePlugin(id: "nope") { id } }"#.into(),
        ),
        (
            "removePlugin",
            Policy::GlobalAdmin,
            r#"mutation { removePlugin(id: "nope") }"#.into(),
        ),
        (
            "grantPlugin",
            Policy::GlobalAdmin,
            r#"mutation { grantPlugin(id: "nope", hosts: ["https://x.example"]) { id } }"#.into(),
        ),
        (
            "triggerSync",
            Policy::WriteData,
            format!(
                r#"mutation {{ triggerSync(workspace: "{W}", connection: "999999") {{ id }} }}"#
            ),
        ),
        (
            "refreshForecasts",
            Policy::WriteData,
            format!(r#"mutation {{ refreshForecasts(workspace: "{W}") {{ series }} }}"#),
        ),
        (
            "setConnectionStatus",
            Policy::Administer,
            format!(
                r#"mutation {{ setConnectionStatus(workspace: "{W}", connection: "999999", status: "paused") {{ id }} }}"#
            ),
        ),
        (
            "createToken",
            Policy::GlobalAdmin,
            r#"mutation { createToken(name: "x", role: "admin") { secret } }"#.into(),
        ),
        (
            "revokeToken",
            Policy::GlobalAdmin,
            r#"mutation { revokeToken(id: "999999") }"#.into(),
        ),
        (
            "revokePluginGrant",
            Policy::GlobalAdmin,
            r#"mutation { revokePluginGrant(id: "nope", hosts: ["https://x.example"]) { id } }"#
                .into(),
        ),
    ]
}

fn allowed(policy: Policy, role: &str) -> bool {
    match policy {
        Policy::WriteData => matches!(role, "admin" | "ingest"),
        Policy::Administer => role == "admin",
        Policy::GlobalAdmin => false,
    }
}

#[test]
fn the_table_names_every_mutation_of_the_schema() {
    let sdl = std::fs::read_to_string(repo_root().join("schema/schema.graphql")).expect("schema");
    let start = sdl.find("type Mutation {").expect("Mutation type");
    let body = &sdl[start..sdl[start..].find("\n}").map_or(sdl.len(), |e| start + e)];
    let names: Vec<&str> = body
        .lines()
        .filter_map(|l| {
            let l = l.trim_start_matches('\t');
            (!l.starts_with(' ') && !l.starts_with('"'))
                .then(|| l.split('(').next())
                .flatten()
                .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
        })
        .filter(|n| *n != "type")
        .collect();
    let table: Vec<&str> = table().iter().map(|(n, _, _)| *n).collect();
    assert_eq!(names.len(), table.len(), "schema mutations {names:?}");
    for name in &names {
        assert!(
            table.contains(name),
            "mutation `{name}` has no row in the role matrix"
        );
    }
}

#[tokio::test]
async fn every_write_mutation_refuses_the_roles_it_must() {
    let d = Daemon::start();
    for role in ["admin", "analyst", "ingest", "read_only"] {
        let token = d.token(role, &[W]);
        for (name, policy, query) in table() {
            let (status, body) = d.gql(Some(&token), &query, json!({})).await;
            assert_eq!(status, 200, "{name} as {role}: {body}");
            let got = code(&body);
            if allowed(policy, role) {
                assert_ne!(
                    got, "FORBIDDEN",
                    "{name} must be allowed for {role}: {body}"
                );
            } else {
                assert_eq!(
                    got, "FORBIDDEN",
                    "{name} must be refused for {role}: {body}"
                );
            }
        }
    }
    // Nothing a refused call asked for exists.
    let data = d
        .ok(&d.admin_token(), "{ workspaces { slug } }", json!({}))
        .await;
    assert_eq!(data["workspaces"], json!([{"slug": "default"}]));
}
