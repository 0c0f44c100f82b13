//! Sell probabilities for one-of-a-kind items (resale, vintage): a single unit cannot be forecast
//! as a series, but past items of the same condition tell how likely a listing of a given age is to
//! sell soon. Unsold items count as censored at their current age (Kaplan–Meier).

/// Kaplan–Meier estimate of `P(still unsold after t days)` from `(days, sold)` pairs, as a step
/// function: `(t, S(t))` at each day with a sale, ascending.
pub fn kaplan_meier(items: &[(u32, bool)]) -> Vec<(u32, f64)> {
    let mut sorted: Vec<(u32, bool)> = items.to_vec();
    sorted.sort_by_key(|(d, _)| *d);
    let mut at_risk = sorted.len();
    let mut s = 1.0;
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].0;
        let (mut sold, mut leaving) = (0usize, 0usize);
        while i < sorted.len() && sorted[i].0 == t {
            sold += usize::from(sorted[i].1);
            leaving += 1;
            i += 1;
        }
        if sold > 0 && at_risk > 0 {
            s *= 1.0 - sold as f64 / at_risk as f64;
            out.push((t, s));
        }
        at_risk -= leaving;
    }
    out
}

/// `S(t)` from a [`kaplan_meier`] step function.
fn survival_at(curve: &[(u32, f64)], t: u32) -> f64 {
    curve
        .iter()
        .take_while(|(d, _)| *d <= t)
        .last()
        .map_or(1.0, |(_, s)| *s)
}

/// Probability that an item of `condition`, unsold after `age_days`, sells within the next
/// `within_days`: `1 − S(age + within) / S(age)` over past items of the same condition.
///
/// `None` when no past item of that condition was still listed at `age_days` (nothing to learn
/// from), or when every such item has already sold by then.
pub fn sell_probability(
    history: &[(u32, bool, String)],
    condition: &str,
    age_days: u32,
    within_days: u32,
) -> Option<f64> {
    let items: Vec<(u32, bool)> = history
        .iter()
        .filter(|(_, _, c)| c.eq_ignore_ascii_case(condition))
        .map(|(d, s, _)| (*d, *s))
        .collect();
    // Items that left before `age_days` tell nothing about listings that reached it.
    if !items.iter().any(|(d, _)| *d >= age_days) {
        return None;
    }
    let curve = kaplan_meier(&items);
    let now = survival_at(&curve, age_days);
    if now <= 0.0 {
        return None;
    }
    let later = survival_at(&curve, age_days.saturating_add(within_days));
    Some((1.0 - later / now).clamp(0.0, 1.0))
}
