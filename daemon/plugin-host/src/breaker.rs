//! Per-plugin circuit breaker. A plugin that keeps trapping or hitting limits wastes CPU and fills logs;
//! after `failure_threshold` consecutive faults it is not called for a pause that doubles with each trip,
//! then one trial call decides whether it is healthy again.

use crate::config::BreakerConfig;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast until `open_until`.
    Open,
    /// One trial call is allowed; its outcome closes or re-opens the breaker.
    HalfOpen,
}

impl BreakerState {
    /// Orders states from healthy to refusing.
    pub fn severity(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

/// What the API shows about a plugin's breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerStatus {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    /// Times the breaker opened since the plugin last succeeded; the pause doubles with each.
    pub trips: u32,
    pub open_until: Option<DateTime<Utc>>,
    pub retry_in_ms: Option<u64>,
    pub last_error: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    state: Inner,
    consecutive_failures: u32,
    trips: u32,
    last_error: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed,
    Open { until: Instant },
    HalfOpen { trial_running: bool },
}

/// Refusal from [`Breaker::admit`].
pub(crate) struct Rejected {
    pub failures: u32,
    pub retry_in: Duration,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: Inner::Closed,
            consecutive_failures: 0,
            trips: 0,
            last_error: None,
        }
    }

    /// Whether a call may start now. An expired pause admits exactly one trial call.
    pub fn admit(&mut self, now: Instant) -> Result<(), Rejected> {
        match self.state {
            Inner::Closed => Ok(()),
            Inner::Open { until } if now >= until => {
                self.state = Inner::HalfOpen {
                    trial_running: true,
                };
                Ok(())
            }
            Inner::Open { until } => Err(Rejected {
                failures: self.consecutive_failures,
                retry_in: until - now,
            }),
            Inner::HalfOpen {
                trial_running: false,
            } => {
                self.state = Inner::HalfOpen {
                    trial_running: true,
                };
                Ok(())
            }
            Inner::HalfOpen {
                trial_running: true,
            } => Err(Rejected {
                failures: self.consecutive_failures,
                retry_in: Duration::ZERO,
            }),
        }
    }

    /// Closed with nothing remembered: indistinguishable from a new breaker.
    pub fn is_pristine(&self) -> bool {
        matches!(self.state, Inner::Closed) && self.consecutive_failures == 0 && self.trips == 0
    }

    pub fn on_success(&mut self) {
        self.state = Inner::Closed;
        self.consecutive_failures = 0;
        self.trips = 0;
    }

    /// A call that ended without a verdict on the plugin (e.g. the caller's bad input) releases a trial slot.
    pub fn on_neutral(&mut self) {
        if let Inner::HalfOpen { .. } = self.state {
            self.state = Inner::HalfOpen {
                trial_running: false,
            };
        }
    }

    pub fn on_failure(&mut self, now: Instant, error: String) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_error = Some(error);
        let trip = match self.state {
            Inner::HalfOpen { .. } => true,
            Inner::Closed => self.consecutive_failures >= self.config.failure_threshold.max(1),
            Inner::Open { .. } => false,
        };
        if trip {
            self.trips = self.trips.saturating_add(1);
            self.state = Inner::Open {
                until: now + self.backoff(),
            };
        }
    }

    /// `base * 2^(trips-1)`, capped.
    fn backoff(&self) -> Duration {
        let factor = 1u64 << self.trips.saturating_sub(1).min(30);
        Duration::from_millis(
            self.config
                .base_backoff_ms
                .saturating_mul(factor)
                .min(self.config.max_backoff_ms),
        )
    }

    pub fn status(&self, now: Instant) -> BreakerStatus {
        let (state, retry_in) = match self.state {
            Inner::Closed => (BreakerState::Closed, None),
            Inner::Open { until } => (
                BreakerState::Open,
                Some(until.saturating_duration_since(now)),
            ),
            Inner::HalfOpen { .. } => (BreakerState::HalfOpen, None),
        };
        BreakerStatus {
            state,
            consecutive_failures: self.consecutive_failures,
            trips: self.trips,
            open_until: retry_in
                .and_then(|d| chrono::Duration::from_std(d).ok().map(|d| Utc::now() + d)),
            retry_in_ms: retry_in.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            last_error: self.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            failure_threshold: 2,
            base_backoff_ms: 100,
            max_backoff_ms: 250,
        })
    }

    #[test]
    fn opens_after_threshold_and_backs_off_exponentially() {
        let mut b = breaker();
        let t0 = Instant::now();
        b.on_failure(t0, "x".into());
        assert!(b.admit(t0).is_ok());
        b.on_failure(t0, "x".into());
        let rejected = b.admit(t0).expect_err("open");
        assert_eq!(rejected.retry_in, Duration::from_millis(100));
        assert_eq!(b.status(t0).state, BreakerState::Open);

        // After the pause one trial is admitted, a second concurrent one is not.
        let t1 = t0 + Duration::from_millis(100);
        assert!(b.admit(t1).is_ok());
        assert!(b.admit(t1).is_err());
        // The trial fails: open again for twice as long.
        b.on_failure(t1, "y".into());
        assert_eq!(
            b.admit(t1).expect_err("open").retry_in,
            Duration::from_millis(200)
        );
        // Third trip is capped.
        let t2 = t1 + Duration::from_millis(200);
        assert!(b.admit(t2).is_ok());
        b.on_failure(t2, "z".into());
        assert_eq!(
            b.admit(t2).expect_err("open").retry_in,
            Duration::from_millis(250)
        );
        let status = b.status(t2);
        assert_eq!(status.trips, 3);
        assert_eq!(status.last_error.as_deref(), Some("z"));

        // A successful trial closes it and forgets the trips.
        let t3 = t2 + Duration::from_millis(250);
        assert!(b.admit(t3).is_ok());
        b.on_success();
        assert_eq!(b.status(t3).state, BreakerState::Closed);
        assert_eq!(b.status(t3).trips, 0);
    }
}
