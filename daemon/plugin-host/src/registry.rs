//! Installed plugins and the operator's grants, stored in the `plugins` / `plugin_grants` tables, with the
//! components kept under one directory. What a manifest asks for and what the operator granted are stored
//! apart: only their intersection is ever effective.

use crate::error::LoadError;
use crate::host::{LoadSpec, verify_component};
use crate::manifest::{Manifest, ManifestError, OriginPattern, PluginId, valid_secret_name};
use chrono::{DateTime, Utc};
use creatorflow_store::entity::{plugin, plugin_grant};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One capability the operator grants a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "capability", content = "value", rename_all = "snake_case")]
pub enum Grant {
    /// An origin (`https://host[:port]`, or `https://*.domain`), as in the manifest.
    Host(String),
    /// A secret name.
    Secret(String),
}

impl Grant {
    /// A host grant, normalised (`https://API.example.com:443/` → `https://api.example.com`).
    pub fn host(origin: &str) -> Result<Self, RegistryError> {
        OriginPattern::parse(origin)
            .map(|p| Grant::Host(p.to_string()))
            .map_err(RegistryError::InvalidGrant)
    }

    pub fn secret(name: &str) -> Result<Self, RegistryError> {
        if valid_secret_name(name) {
            Ok(Grant::Secret(name.to_owned()))
        } else {
            Err(RegistryError::InvalidGrant(format!(
                "{name:?} is not a secret name (lower-case letters, digits, '_' and '-')"
            )))
        }
    }

    fn capability(&self) -> &'static str {
        match self {
            Grant::Host(_) => "host",
            Grant::Secret(_) => "secret",
        }
    }

    fn value(&self) -> &str {
        match self {
            Grant::Host(v) | Grant::Secret(v) => v,
        }
    }

    fn from_row(row: &plugin_grant::Model) -> Option<Self> {
        match row.capability.as_str() {
            "host" => Some(Grant::Host(row.value.clone())),
            "secret" => Some(Grant::Secret(row.value.clone())),
            _ => None,
        }
    }
}

/// An installed plugin as the registry knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstalledPlugin {
    pub manifest: Manifest,
    pub enabled: bool,
    /// SHA-256 of the installed component.
    pub sha256: String,
    pub wasm_path: PathBuf,
    pub grants: Vec<Grant>,
    pub installed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl InstalledPlugin {
    pub fn id(&self) -> &str {
        self.manifest.id.as_str()
    }

    pub fn load_spec(&self) -> LoadSpec {
        LoadSpec {
            manifest: self.manifest.clone(),
            wasm_path: self.wasm_path.clone(),
            grants: self.grants.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("plugin `{0}` is not installed")]
    NotInstalled(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("invalid grant: {0}")]
    InvalidGrant(String),
    #[error(
        "plugin `{plugin}` does not ask for {capability} {value:?} in its manifest; only requested capabilities can be granted"
    )]
    NotRequested {
        plugin: String,
        capability: &'static str,
        value: String,
    },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the stored manifest of `{id}` is unreadable: {message}")]
    Corrupt { id: String, message: String },
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// Largest `plugin.toml` accepted: manifests are a few hundred bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 10;
/// Largest component accepted: first-party plugins are well under 1 MiB.
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;

/// Reads a package's manifest and component (regular files only, size-capped), verifies them and copies the
/// component into `dir`. Blocking: call it on the blocking pool.
fn stage_package(path: &Path, dir: &Path) -> Result<(Manifest, String, PathBuf), RegistryError> {
    let manifest_path = if path.is_dir() {
        path.join("plugin.toml")
    } else {
        path.to_path_buf()
    };
    let text = read_regular(&manifest_path, MAX_MANIFEST_BYTES)?;
    let text = String::from_utf8(text).map_err(|_| LoadError::Manifest {
        path: manifest_path.clone(),
        source: ManifestError {
            problems: vec!["the manifest is not UTF-8 text".into()],
        },
    })?;
    let manifest = Manifest::parse(&text).map_err(|source| LoadError::Manifest {
        path: manifest_path.clone(),
        source,
    })?;
    let source_dir = manifest_path.parent().unwrap_or(Path::new("."));
    let wasm_src = source_dir.join(&manifest.wasm);
    let wasm = read_regular(&wasm_src, MAX_COMPONENT_BYTES)?;
    let (_, sha256) = verify_component(&manifest, &wasm, &wasm_src)?;

    let plugin_dir = dir.join(manifest.id.as_str());
    let wasm_dest = plugin_dir.join(format!("{sha256}.wasm"));
    std::fs::create_dir_all(&plugin_dir).map_err(|source| RegistryError::Io {
        path: plugin_dir.clone(),
        source,
    })?;
    let tmp = wasm_dest.with_extension("wasm.tmp");
    std::fs::write(&tmp, &wasm)
        .and_then(|()| std::fs::rename(&tmp, &wasm_dest))
        .map_err(|source| RegistryError::Io {
            path: wasm_dest.clone(),
            source,
        })?;
    Ok((manifest, sha256, plugin_dir))
}

/// The contents of `path` if it is a regular file (after following links) of at most `limit` bytes.
/// Devices, FIFOs and sockets are refused before they are opened for reading, so a path such as
/// `/dev/zero` cannot tie up a thread or fill memory.
fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let refuse = |message: String| LoadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
    };
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    if meta.len() > limit {
        return Err(refuse(format!(
            "{} bytes, more than the {limit} accepted",
            meta.len()
        )));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    // Still bounded if the file grows between the check and the read.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(refuse(format!("more than the {limit} bytes accepted")));
    }
    Ok(bytes)
}

/// Install, list, enable, disable, remove and grant — the operations behind `creatorflow plugin …`.
#[derive(Clone)]
pub struct PluginRegistry {
    db: DatabaseConnection,
    dir: PathBuf,
}

impl PluginRegistry {
    /// `dir` holds installed components, one subdirectory per plugin.
    pub fn new(db: DatabaseConnection, dir: impl Into<PathBuf>) -> Self {
        Self {
            db,
            dir: dir.into(),
        }
    }

    /// Installs (or upgrades) the plugin at `path`: a directory with `plugin.toml`, or the manifest itself.
    /// The manifest, hash and API version are verified before anything is copied or stored. Grants and the
    /// enabled flag survive an upgrade; a new plugin starts enabled, with nothing granted.
    pub async fn install(&self, path: &Path) -> Result<InstalledPlugin, RegistryError> {
        let path = path.to_path_buf();
        let dir = self.dir.clone();
        // Every file operation runs on the blocking pool: a slow disk never stalls the async runtime.
        let (manifest, sha256, plugin_dir) =
            tokio::task::spawn_blocking(move || stage_package(&path, &dir))
                .await
                .map_err(|e| RegistryError::Io {
                    path: PathBuf::from("<install>"),
                    source: std::io::Error::other(e.to_string()),
                })??;

        let now = Utc::now();
        let id = manifest.id.to_string();
        let existing = plugin::Entity::find_by_id(id.clone()).one(&self.db).await?;
        let old_sha = existing.as_ref().map(|m| m.sha256.clone());
        match existing {
            Some(row) => {
                let mut active: plugin::ActiveModel = row.into();
                active.kind = Set(manifest.kind.as_str().to_owned());
                active.version = Set(manifest.version.clone());
                active.api_version = Set(manifest.api.clone());
                active.sha256 = Set(sha256.clone());
                active.manifest = Set(manifest.to_toml());
                active.updated_at = Set(now);
                active.update(&self.db).await?;
            }
            None => {
                plugin::ActiveModel {
                    id: Set(id.clone()),
                    kind: Set(manifest.kind.as_str().to_owned()),
                    version: Set(manifest.version.clone()),
                    api_version: Set(manifest.api.clone()),
                    sha256: Set(sha256.clone()),
                    manifest: Set(manifest.to_toml()),
                    enabled: Set(true),
                    installed_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&self.db)
                .await?;
            }
        }
        if let Some(old) = old_sha.filter(|old| *old != sha256) {
            let stale = plugin_dir.join(format!("{old}.wasm"));
            let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(stale)).await;
        }
        tracing::info!(plugin = %id, version = %manifest.version, sha256 = %sha256, "Plugin installed");
        self.get(&id).await
    }

    pub async fn list(&self) -> Result<Vec<InstalledPlugin>, RegistryError> {
        let rows = plugin::Entity::find()
            .order_by_asc(plugin::Column::Id)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.to_installed(row).await?);
        }
        Ok(out)
    }

    pub async fn get(&self, id: &str) -> Result<InstalledPlugin, RegistryError> {
        let row = plugin::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| RegistryError::NotInstalled(id.to_owned()))?;
        self.to_installed(row).await
    }

    pub async fn enable(&self, id: &str) -> Result<(), RegistryError> {
        self.set_enabled(id, true).await
    }

    pub async fn disable(&self, id: &str) -> Result<(), RegistryError> {
        self.set_enabled(id, false).await
    }

    /// Removes the plugin, its grants and its files.
    pub async fn remove(&self, id: &str) -> Result<(), RegistryError> {
        let txn = self.db.begin().await?;
        plugin_grant::Entity::delete_many()
            .filter(plugin_grant::Column::PluginId.eq(id))
            .exec(&txn)
            .await?;
        let deleted = plugin::Entity::delete_by_id(id.to_owned())
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(RegistryError::NotInstalled(id.to_owned()));
        }
        txn.commit().await?;
        if PluginId::parse(id).is_ok() {
            let dir = self.dir.join(id);
            let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
        }
        Ok(())
    }

    /// Grants a capability the manifest asks for. Granting twice is harmless.
    pub async fn grant(&self, id: &str, grant: Grant) -> Result<(), RegistryError> {
        let installed = self.get(id).await?;
        self.check_requested(&installed, &grant)?;
        if installed.grants.contains(&grant) {
            return Ok(());
        }
        plugin_grant::ActiveModel {
            id: NotSet,
            plugin_id: Set(id.to_owned()),
            capability: Set(grant.capability().to_owned()),
            value: Set(grant.value().to_owned()),
            granted_at: Set(Utc::now()),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Whether the manifest asks for `grant`: only requested capabilities can be granted.
    pub fn check_requested(
        &self,
        installed: &InstalledPlugin,
        grant: &Grant,
    ) -> Result<(), RegistryError> {
        let caps = &installed.manifest.capabilities;
        let requested = match grant {
            Grant::Host(h) => caps
                .hosts
                .iter()
                .filter_map(|m| OriginPattern::parse(m).ok())
                .any(|m| m.to_string() == *h),
            Grant::Secret(s) => caps.secrets.contains(s),
        };
        if requested {
            Ok(())
        } else {
            Err(RegistryError::NotRequested {
                plugin: installed.id().to_owned(),
                capability: grant.capability(),
                value: grant.value().to_owned(),
            })
        }
    }

    /// Withdraws a grant; returns whether it existed. Takes effect at the plugin's next load.
    pub async fn revoke(&self, id: &str, grant: &Grant) -> Result<bool, RegistryError> {
        let res = plugin_grant::Entity::delete_many()
            .filter(plugin_grant::Column::PluginId.eq(id))
            .filter(plugin_grant::Column::Capability.eq(grant.capability()))
            .filter(plugin_grant::Column::Value.eq(grant.value()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected > 0)
    }

    /// Switches a plugin on or off; the manager loads or unloads it at its next reconcile.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), RegistryError> {
        let row = plugin::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| RegistryError::NotInstalled(id.to_owned()))?;
        let mut active: plugin::ActiveModel = row.into();
        active.enabled = Set(enabled);
        active.updated_at = Set(Utc::now());
        active.update(&self.db).await?;
        Ok(())
    }

    async fn to_installed(&self, row: plugin::Model) -> Result<InstalledPlugin, RegistryError> {
        let manifest = Manifest::parse(&row.manifest).map_err(|e| RegistryError::Corrupt {
            id: row.id.clone(),
            message: e.to_string(),
        })?;
        let grants = plugin_grant::Entity::find()
            .filter(plugin_grant::Column::PluginId.eq(row.id.clone()))
            .order_by_asc(plugin_grant::Column::Id)
            .all(&self.db)
            .await?
            .iter()
            .filter_map(Grant::from_row)
            .collect();
        Ok(InstalledPlugin {
            wasm_path: self.dir.join(&row.id).join(format!("{}.wasm", row.sha256)),
            manifest,
            enabled: row.enabled,
            sha256: row.sha256,
            grants,
            installed_at: row.installed_at,
            updated_at: row.updated_at,
        })
    }
}

/// Writes an installable plugin directory: `out_dir/plugin.toml` (with `wasm` and `sha256` filled in from
/// the built component) and the component beside it. Returns the manifest path.
pub fn package_plugin(
    manifest_path: &Path,
    wasm_path: &Path,
    out_dir: &Path,
) -> Result<PathBuf, RegistryError> {
    let mut manifest =
        Manifest::from_file(manifest_path).map_err(|source| LoadError::Manifest {
            path: manifest_path.to_path_buf(),
            source,
        })?;
    let wasm = std::fs::read(wasm_path).map_err(|source| LoadError::Io {
        path: wasm_path.to_path_buf(),
        source,
    })?;
    use sha2::Digest;
    manifest.sha256 = Some(hex::encode(sha2::Sha256::digest(&wasm)));
    let file_name = wasm_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| manifest.wasm.clone());
    manifest.wasm = file_name.clone();
    let io = |path: PathBuf| move |source| RegistryError::Io { path, source };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir.to_path_buf()))?;
    std::fs::write(out_dir.join(&file_name), &wasm).map_err(io(out_dir.join(&file_name)))?;
    let out = out_dir.join("plugin.toml");
    std::fs::write(&out, manifest.to_toml()).map_err(io(out.clone()))?;
    Ok(out)
}
