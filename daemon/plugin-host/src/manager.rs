//! Keeps the running host in step with the registry: what is installed and enabled is loaded with exactly
//! the grants stored, and nothing else is. The API calls [`PluginManager::reconcile`] after each change it
//! makes; a periodic reconcile picks up changes made with the `creatorflow plugin` commands.

use crate::error::{LoadError, PluginError};
use crate::host::{PluginHost, PluginStatus};
use crate::manifest::{Manifest, PluginKind};
use crate::model::MetricInfo;
use crate::registry::{Grant, InstalledPlugin, PluginRegistry, RegistryError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How an installed plugin stands in the running daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadState {
    /// Loaded and callable.
    Loaded,
    /// Installed but switched off by the operator.
    Disabled,
    /// Enabled, but the component could not be loaded; the message says why.
    Failed(String),
}

/// An installed plugin with its state in the running daemon.
#[derive(Debug, Clone)]
pub struct PluginView {
    pub installed: InstalledPlugin,
    pub state: LoadState,
    /// Calls, failures and circuit breaker, while loaded.
    pub status: Option<PluginStatus>,
    /// What a loaded metric plugin says about itself.
    pub metric: Option<MetricInfo>,
}

/// What a load was made from: a change to any part means the plugin must be reloaded.
#[derive(Debug, Clone, PartialEq)]
struct Fingerprint {
    sha256: String,
    grants: Vec<Grant>,
}

#[derive(Debug, Clone)]
enum Slot {
    Loaded {
        fingerprint: Fingerprint,
        metric: Option<MetricInfo>,
    },
    Failed {
        fingerprint: Fingerprint,
        message: String,
    },
}

#[derive(Clone)]
pub struct PluginManager {
    registry: PluginRegistry,
    host: PluginHost,
    slots: Arc<Mutex<HashMap<String, Slot>>>,
    /// One reconcile at a time, so two callers never load the same plugin twice.
    reconciling: Arc<tokio::sync::Mutex<()>>,
}

impl PluginManager {
    pub fn new(registry: PluginRegistry, host: PluginHost) -> Self {
        Self {
            registry,
            host,
            slots: Arc::default(),
            reconciling: Arc::default(),
        }
    }

    pub fn registry(&self) -> &PluginRegistry {
        &self.registry
    }

    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Installs or upgrades every plugin packaged under `dir` (one subdirectory with `plugin.toml` each)
    /// whose component differs from the installed one. An operator's disable and grants survive; a plugin
    /// the operator removed comes back at the next start, so switching one off is done with disable.
    pub async fn install_bundled(
        &self,
        dir: &Path,
    ) -> Vec<(PathBuf, Result<Option<InstalledPlugin>, RegistryError>)> {
        let mut dirs: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("plugin.toml").is_file())
                .collect(),
            Err(_) => return Vec::new(),
        };
        dirs.sort();
        let mut out = Vec::with_capacity(dirs.len());
        for path in dirs {
            let result = self.install_if_changed(&path).await;
            match &result {
                Ok(Some(p)) => tracing::info!(
                    plugin = %p.id(),
                    version = %p.manifest.version,
                    "Installed bundled plugin"
                ),
                Ok(None) => {}
                Err(e) => tracing::error!(
                    path = %path.display(),
                    error = %e,
                    "Bundled plugin not installed"
                ),
            }
            out.push((path, result));
        }
        out
    }

    async fn install_if_changed(
        &self,
        path: &Path,
    ) -> Result<Option<InstalledPlugin>, RegistryError> {
        let manifest_path = path.join("plugin.toml");
        let manifest =
            Manifest::from_file(&manifest_path).map_err(|source| LoadError::Manifest {
                path: manifest_path.clone(),
                source,
            })?;
        match self.registry.get(manifest.id.as_str()).await {
            Ok(installed) if Some(&installed.sha256) == manifest.sha256.as_ref() => Ok(None),
            Ok(_) | Err(RegistryError::NotInstalled(_)) => {
                self.registry.install(path).await.map(Some)
            }
            Err(e) => Err(e),
        }
    }

    /// Loads enabled plugins whose component or grants changed since their last load, and unloads the
    /// disabled and removed ones. A plugin that fails to load is reported in its state; the others load.
    pub async fn reconcile(&self) -> Result<(), RegistryError> {
        let _one_at_a_time = self.reconciling.lock().await;
        let installed = self.registry.list().await?;
        let wanted: HashMap<&str, &InstalledPlugin> = installed
            .iter()
            .filter(|p| p.enabled)
            .map(|p| (p.id(), p))
            .collect();
        let stale: Vec<String> = self
            .slots()
            .keys()
            .filter(|id| !wanted.contains_key(id.as_str()))
            .cloned()
            .collect();
        for id in stale {
            self.host.unload(&id);
            self.slots().remove(&id);
            tracing::info!(plugin = %id, "Plugin unloaded");
        }
        for (id, plugin) in wanted {
            let fingerprint = Fingerprint {
                sha256: plugin.sha256.clone(),
                grants: plugin.grants.clone(),
            };
            let current = match self.slots().get(id) {
                Some(Slot::Loaded { fingerprint: f, .. } | Slot::Failed { fingerprint: f, .. }) => {
                    *f == fingerprint
                }
                None => false,
            };
            if current {
                continue;
            }
            let slot = match self.host.load(plugin.load_spec()).await {
                Ok(_) => match plugin.manifest.kind {
                    PluginKind::Metric => match self.describe_metric(id).await {
                        Ok(info) => Slot::Loaded {
                            fingerprint,
                            metric: Some(info),
                        },
                        Err(e) => {
                            self.host.unload(id);
                            Slot::Failed {
                                fingerprint,
                                message: e.to_string(),
                            }
                        }
                    },
                    PluginKind::Connector => Slot::Loaded {
                        fingerprint,
                        metric: None,
                    },
                },
                Err(e) => {
                    tracing::error!(plugin = %id, error = %e, "Plugin failed to load");
                    Slot::Failed {
                        fingerprint,
                        message: e.to_string(),
                    }
                }
            };
            self.slots().insert(id.to_owned(), slot);
        }
        Ok(())
    }

    async fn describe_metric(&self, id: &str) -> Result<MetricInfo, PluginError> {
        self.host.metric(id)?.describe().await
    }

    /// Every installed plugin with its state, ordered by id.
    pub async fn overview(&self) -> Result<Vec<PluginView>, RegistryError> {
        let installed = self.registry.list().await?;
        Ok(installed.into_iter().map(|p| self.view(p)).collect())
    }

    pub async fn get(&self, id: &str) -> Result<PluginView, RegistryError> {
        self.registry.get(id).await.map(|p| self.view(p))
    }

    fn view(&self, installed: InstalledPlugin) -> PluginView {
        let slot = self.slots().get(installed.id()).cloned();
        let (state, metric) = match (installed.enabled, slot) {
            (false, _) => (LoadState::Disabled, None),
            (true, Some(Slot::Loaded { metric, .. })) => (LoadState::Loaded, metric),
            (true, Some(Slot::Failed { message, .. })) => (LoadState::Failed(message), None),
            (true, None) => (
                LoadState::Failed("not loaded yet; it loads at the next reconcile".into()),
                None,
            ),
        };
        let status = match state {
            LoadState::Loaded => self.host.status(installed.id()),
            _ => None,
        };
        PluginView {
            installed,
            state,
            status,
            metric,
        }
    }

    /// Describes the loaded metric plugin `id`, as cached at load time.
    pub fn metric_info(&self, id: &str) -> Option<MetricInfo> {
        match self.slots().get(id) {
            Some(Slot::Loaded { metric, .. }) => metric.clone(),
            _ => None,
        }
    }

    /// Every loaded metric plugin, ordered by id; `id` is the installed id that calls use.
    pub fn metrics(&self) -> Vec<MetricInfo> {
        let mut all: Vec<MetricInfo> = self
            .slots()
            .iter()
            .filter_map(|(id, slot)| match slot {
                Slot::Loaded {
                    metric: Some(info), ..
                } => Some(MetricInfo {
                    id: id.clone(),
                    ..info.clone()
                }),
                _ => None,
            })
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Reconciles every `every` until the process ends, so CLI changes reach a running daemon.
    pub fn spawn_reconcile_loop(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let manager = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = manager.reconcile().await {
                    tracing::warn!(error = %e, "Plugin reconcile failed");
                }
            }
        })
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // The map holds plain data; a panic while holding the lock cannot leave it half-updated.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}
