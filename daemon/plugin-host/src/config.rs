//! The host's own configuration: caps on what any manifest may ask for, defaults for what it leaves out,
//! and the switches operators need (dev mode, pooling, the compiled cache).

use crate::manifest::{Limits, RateBudget};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// Where compiled components are kept, one file per (sha256, engine) pair. Warm starts read from here.
    pub cache_dir: PathBuf,
    /// Allows plain `http://` and private addresses for loopback test servers. Never in production.
    pub dev_mode: bool,
    /// Try the pooling instance allocator (faster per-job instantiation); falls back to on-demand when the
    /// machine cannot reserve its address space.
    pub pooling: bool,
    /// Concurrent instances the pooling allocator has slots for.
    pub max_instances: u32,
    /// Epoch tick for CPU accounting. Smaller is more precise and slightly more expensive.
    pub epoch_tick_ms: u64,
    /// Upper bounds no manifest can exceed.
    pub caps: LimitValues,
    /// What a manifest gets when it does not say.
    pub defaults: LimitValues,
    /// Request budget for plugins whose manifest does not set one.
    pub default_rate: RateBudget,
    /// Ceiling on any manifest's request rate.
    pub max_requests_per_second: f64,
    pub breaker: BreakerConfig,
    /// Log bytes a plugin may write per call; the rest is dropped with a note.
    pub max_log_bytes_per_call: usize,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            cache_dir: PathBuf::from("plugin-cache"),
            dev_mode: false,
            pooling: true,
            max_instances: 64,
            epoch_tick_ms: 10,
            caps: LimitValues {
                memory_mib: 512,
                cpu_ms: 30_000,
                wall_ms: 300_000,
                max_requests: 1_000,
                max_response_bytes: 32 << 20,
                max_output_records: 100_000,
                max_output_bytes: 128 << 20,
            },
            defaults: LimitValues {
                memory_mib: 64,
                cpu_ms: 2_000,
                wall_ms: 30_000,
                max_requests: 50,
                max_response_bytes: 8 << 20,
                max_output_records: 10_000,
                max_output_bytes: 16 << 20,
            },
            default_rate: RateBudget {
                requests_per_second: 10.0,
                burst: 10,
            },
            max_requests_per_second: 100.0,
            breaker: BreakerConfig::default(),
            max_log_bytes_per_call: 64 << 10,
        }
    }
}

/// One full set of limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitValues {
    pub memory_mib: u64,
    pub cpu_ms: u64,
    pub wall_ms: u64,
    pub max_requests: u32,
    pub max_response_bytes: u64,
    pub max_output_records: u32,
    pub max_output_bytes: u64,
}

impl LimitValues {
    /// The manifest's request, defaulted and capped.
    pub fn effective(manifest: &Limits, defaults: &LimitValues, caps: &LimitValues) -> LimitValues {
        LimitValues {
            memory_mib: manifest
                .memory_mib
                .unwrap_or(defaults.memory_mib)
                .min(caps.memory_mib),
            cpu_ms: manifest.cpu_ms.unwrap_or(defaults.cpu_ms).min(caps.cpu_ms),
            wall_ms: manifest
                .wall_ms
                .unwrap_or(defaults.wall_ms)
                .min(caps.wall_ms),
            max_requests: manifest
                .max_requests
                .unwrap_or(defaults.max_requests)
                .min(caps.max_requests),
            max_response_bytes: manifest
                .max_response_bytes
                .unwrap_or(defaults.max_response_bytes)
                .min(caps.max_response_bytes),
            max_output_records: manifest
                .max_output_records
                .unwrap_or(defaults.max_output_records)
                .min(caps.max_output_records),
            max_output_bytes: manifest
                .max_output_bytes
                .unwrap_or(defaults.max_output_bytes)
                .min(caps.max_output_bytes),
        }
    }

    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
    }

    pub fn wall(&self) -> Duration {
        Duration::from_millis(self.wall_ms)
    }
}

/// When a plugin keeps failing, stop calling it for a while, doubling the pause each time it fails again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive faults (traps, limits, invalid output) that open the breaker.
    pub failure_threshold: u32,
    /// First pause; each further trip doubles it.
    pub base_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            base_backoff_ms: 30_000,
            max_backoff_ms: 30 * 60_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_limits_are_defaulted_then_capped() {
        let cfg = HostConfig::default();
        let asked = Limits {
            memory_mib: Some(4096),
            cpu_ms: Some(100),
            ..Limits::default()
        };
        let eff = LimitValues::effective(&asked, &cfg.defaults, &cfg.caps);
        assert_eq!(eff.memory_mib, cfg.caps.memory_mib);
        assert_eq!(eff.cpu_ms, 100);
        assert_eq!(eff.wall_ms, cfg.defaults.wall_ms);
    }

    #[test]
    fn unknown_config_keys_are_refused() {
        let err = toml::from_str::<HostConfig>("dev_mod = true").expect_err("refused");
        assert!(err.to_string().contains("dev_mod"), "{err}");
        let ok: HostConfig = toml::from_str("dev_mode = true").expect("partial config");
        assert!(ok.dev_mode);
    }
}
