//! Backtests the forecaster on CSV data.
//!
//! `backtest FILE.csv` scores one `date,value` series and prints the report table.
//! `backtest --panel FILE.csv --horizon H --origins K --period P --out OUT.csv` reads many series as
//! `series,t,value` rows (t = 0, 1, … per series), forecasts each from K rolling origins one
//! horizon apart, and writes `series,origin,step,point,lo80,hi80,lo95,hi95` rows so that the
//! accuracy script can score this library and other libraries on the same splits.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

use creatorflow_forecast::{Options, Series, backtest_csv, forecast_many};

type Error = Box<dyn std::error::Error>;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn number(args: &[String], name: &str, default: usize) -> Result<usize, Error> {
    Ok(arg(args, name)
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(default))
}

#[allow(clippy::print_stdout)]
fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = Options::default();
    let Some(panel) = arg(&args, "--panel") else {
        let file = args
            .first()
            .ok_or("usage: backtest FILE.csv | --panel FILE.csv ...")?;
        let report = backtest_csv(BufReader::new(std::fs::File::open(file)?), &opts)?;
        println!("{report}");
        return Ok(());
    };
    let horizon = number(&args, "--horizon", 12)?;
    let origins = number(&args, "--origins", 3)?;
    let period = number(&args, "--period", 12)?;
    let out = arg(&args, "--out").ok_or("--out OUT.csv is required with --panel")?;

    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, line) in BufReader::new(std::fs::File::open(&panel)?)
        .lines()
        .enumerate()
    {
        let line = line?;
        let cols: Vec<&str> = line.trim().split(',').collect();
        if i == 0 && cols.first() == Some(&"series") {
            continue;
        }
        let [id, _, value] = cols[..] else {
            return Err(format!("line {}: expected 3 columns", i + 1).into());
        };
        let value: f64 = value
            .parse()
            .map_err(|_| format!("line {}: bad value `{value}`", i + 1))?;
        series.entry(id.to_owned()).or_default().push(value);
    }
    // One job per (series, origin): origin k trains on all but (k + 1) horizons.
    let mut jobs: Vec<(String, usize, Series)> = Vec::new();
    for (id, values) in &series {
        for k in 0..origins {
            let Some(end) = values.len().checked_sub((k + 1) * horizon) else {
                continue;
            };
            jobs.push((
                id.clone(),
                end,
                Series::new(values[..end].to_vec(), Some(period)),
            ));
        }
    }
    let start = Instant::now();
    let inputs: Vec<Series> = jobs.iter().map(|(_, _, s)| s.clone()).collect();
    let results = forecast_many(&inputs, horizon, &opts);
    let elapsed = start.elapsed();
    let mut w = BufWriter::new(std::fs::File::create(&out)?);
    writeln!(w, "series,origin,step,point,lo80,hi80,lo95,hi95,model")?;
    let mut failed = 0;
    for ((id, end, _), r) in jobs.iter().zip(results) {
        let Ok(f) = r else {
            failed += 1;
            continue;
        };
        for s in 0..horizon {
            writeln!(
                w,
                "{id},{end},{s},{},{},{},{},{},{}",
                f.point[s], f.lower80[s], f.upper80[s], f.lower95[s], f.upper95[s], f.model
            )?;
        }
    }
    w.flush()?;
    println!(
        "{} series, {} forecasts in {:.2} s, {failed} failed",
        series.len(),
        jobs.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
