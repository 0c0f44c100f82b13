//! Multi-start minimisation of a smooth objective with argmin's L-BFGS.

use crate::ClvError;
use argmin::core::{CostFunction, Error, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use std::cell::RefCell;

/// A run counts as converged when the gradient norm of the objective (a *mean* negative
/// log-likelihood over log-parameters) is below this: at the optimum it is zero up to rounding.
const ACCEPT_GRAD_NORM: f64 = 1e-5;
/// L-BFGS stops below this gradient norm, or when an iteration improves the mean by less than
/// `STOP_COST`. Tighter is pointless: summing tens of thousands of terms leaves ~1e-13 of rounding
/// noise in the mean, and the line search then spends hundreds of evaluations chasing it. The
/// parameters are then far more precise than their sampling error.
const STOP_GRAD_NORM: f64 = 1e-7;
const STOP_COST: f64 = 1e-12;
const MAX_ITERS: u64 = 500;
/// L-BFGS history length: the problems have 3–4 parameters.
const HISTORY: usize = 7;

/// An objective with its gradient, evaluated together because they share all the expensive terms.
/// Returns `None` where the value is not finite (parameters overflowing), which ends that run's line
/// search without poisoning the best point found so far.
pub(crate) trait Objective {
    fn value_grad(&self, theta: &[f64]) -> Option<(f64, Vec<f64>)>;
}

/// A point with the objective's value and gradient there.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// Adapts an [`Objective`] to argmin, remembering the last evaluation: argmin asks for the cost and
/// the gradient at the same point separately.
struct Problem<'a, O> {
    objective: &'a O,
    last: RefCell<Option<Evaluation>>,
}

impl<O: Objective> Problem<'_, O> {
    fn eval(&self, theta: &[f64]) -> Result<(f64, Vec<f64>), Error> {
        if let Some((p, v, g)) = self.last.borrow().as_ref()
            && p.as_slice() == theta
        {
            return Ok((*v, g.clone()));
        }
        let (v, g) = self
            .objective
            .value_grad(theta)
            .ok_or_else(|| Error::msg("objective not finite"))?;
        *self.last.borrow_mut() = Some((theta.to_vec(), v, g.clone()));
        Ok((v, g))
    }
}

impl<O: Objective> CostFunction for Problem<'_, O> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Vec<f64>) -> Result<f64, Error> {
        Ok(self.eval(theta)?.0)
    }
}

impl<O: Objective> Gradient for Problem<'_, O> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, theta: &Vec<f64>) -> Result<Vec<f64>, Error> {
        Ok(self.eval(theta)?.1)
    }
}

/// Minimises `objective` from each start and returns the lowest converged point and its value.
pub(crate) fn minimize<O: Objective>(
    objective: &O,
    starts: &[Vec<f64>],
    what: &'static str,
) -> Result<(Vec<f64>, f64), ClvError> {
    let mut best: Option<(Vec<f64>, f64)> = None;
    let mut failures = Vec::new();
    for start in starts {
        match run_one(objective, start.clone()) {
            Ok((theta, value)) => {
                if best.as_ref().is_none_or(|(_, v)| value < *v) {
                    best = Some((theta, value));
                }
            }
            Err(reason) => failures.push(reason),
        }
    }
    best.ok_or_else(|| ClvError::NonConvergence {
        what,
        detail: format!(
            "no start out of {} reached a stationary point ({})",
            starts.len(),
            failures.join("; ")
        ),
    })
}

fn run_one<O: Objective>(objective: &O, start: Vec<f64>) -> Result<(Vec<f64>, f64), String> {
    let problem = Problem {
        objective,
        last: RefCell::new(None),
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), HISTORY)
        .with_tolerance_grad(STOP_GRAD_NORM)
        .and_then(|s| s.with_tolerance_cost(STOP_COST))
        .map_err(|e| format!("L-BFGS set-up: {e}"))?;
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start).max_iters(MAX_ITERS))
        .timer(false)
        .run()
        .map_err(|e| format!("L-BFGS failed: {e}"))?;
    let state = result.state();
    let theta = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| "L-BFGS returned no parameters".to_string())?;
    // Judge convergence ourselves: the line search may stop early near the optimum, where rounding
    // makes progress impossible, which is fine; it may also give up far from it, which is not.
    let (value, grad) = objective
        .value_grad(&theta)
        .ok_or_else(|| "objective not finite at the end point".to_string())?;
    let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
    if norm < ACCEPT_GRAD_NORM {
        Ok((theta, value))
    } else {
        Err(format!(
            "stopped after {} iterations with gradient norm {norm:.2e}",
            state.get_iter()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock in 2D: a curved valley, minimum 0 at (1, 1).
    struct Rosenbrock;
    impl Objective for Rosenbrock {
        fn value_grad(&self, t: &[f64]) -> Option<(f64, Vec<f64>)> {
            let (x, y) = (t[0], t[1]);
            let v = (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
            let g = vec![
                -2.0 * (1.0 - x) - 400.0 * x * (y - x * x),
                200.0 * (y - x * x),
            ];
            Some((v, g))
        }
    }

    #[test]
    fn finds_rosenbrock_minimum() {
        let starts = [vec![-1.2, 1.0], vec![2.0, -1.0]];
        let (theta, value) = minimize(&Rosenbrock, &starts, "test").expect("converges");
        assert!((theta[0] - 1.0).abs() < 1e-5 && (theta[1] - 1.0).abs() < 1e-5);
        assert!(value < 1e-10);
    }

    /// No stationary point: the value falls forever.
    struct Unbounded;
    impl Objective for Unbounded {
        fn value_grad(&self, t: &[f64]) -> Option<(f64, Vec<f64>)> {
            let v = -t[0];
            v.is_finite().then(|| (v, vec![-1.0]))
        }
    }

    #[test]
    fn reports_non_convergence() {
        let err = minimize(&Unbounded, &[vec![0.0]], "test fit").expect_err("must not converge");
        assert!(matches!(err, ClvError::NonConvergence { .. }), "{err}");
        assert!(err.to_string().starts_with("test fit did not converge"));
    }
}
