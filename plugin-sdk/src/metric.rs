//! Types and helpers for metric plugins: column lookups by name, builders for tests, value constructors.

pub use crate::bindings::metric::creatorflow::plugin::metric_types::{
    Batch, Column, ColumnData, ColumnType, InputSpec, Labelled, MetricInfo, MetricValue, Scalar,
    Unit,
};
use crate::{Money, PluginError};

impl Batch {
    /// Builds a batch from columns; `rows` is taken from the first column (0 when there is none).
    pub fn from_columns(columns: Vec<Column>) -> Self {
        let rows = columns.first().map_or(0, |c| c.data.len());
        Self {
            rows: u32::try_from(rows).unwrap_or(u32::MAX),
            columns,
        }
    }

    /// The column named `name`, if the host sent it.
    pub fn column(&self, name: &str) -> Option<&ColumnData> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.data)
    }

    /// An int64 column, or an error naming the column and what was found instead.
    pub fn i64s(&self, name: &str) -> Result<&[i64], PluginError> {
        match self.column(name) {
            Some(ColumnData::Int64(v)) => Ok(v),
            Some(other) => Err(wrong_type(name, "int64", other)),
            None => Err(missing(name)),
        }
    }

    /// An int64 column, or `None` when the host did not send it (optional inputs).
    pub fn opt_i64s(&self, name: &str) -> Result<Option<&[i64]>, PluginError> {
        match self.column(name) {
            None => Ok(None),
            Some(_) => self.i64s(name).map(Some),
        }
    }

    pub fn f64s(&self, name: &str) -> Result<&[f64], PluginError> {
        match self.column(name) {
            Some(ColumnData::Float64(v)) => Ok(v),
            Some(other) => Err(wrong_type(name, "float64", other)),
            None => Err(missing(name)),
        }
    }

    pub fn texts(&self, name: &str) -> Result<&[String], PluginError> {
        match self.column(name) {
            Some(ColumnData::Text(v)) => Ok(v),
            Some(other) => Err(wrong_type(name, "text", other)),
            None => Err(missing(name)),
        }
    }

    pub fn bools(&self, name: &str) -> Result<&[bool], PluginError> {
        match self.column(name) {
            Some(ColumnData::Boolean(v)) => Ok(v),
            Some(other) => Err(wrong_type(name, "boolean", other)),
            None => Err(missing(name)),
        }
    }
}

fn missing(name: &str) -> PluginError {
    PluginError::InvalidInput(format!("input column `{name}` is missing"))
}

fn wrong_type(name: &str, expected: &str, found: &ColumnData) -> PluginError {
    PluginError::InvalidInput(format!(
        "input column `{name}` must be {expected}, found {}",
        found.type_name()
    ))
}

impl ColumnData {
    /// Number of values in the column.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Int64(v) => v.len(),
            ColumnData::Float64(v) => v.len(),
            ColumnData::Text(v) => v.len(),
            ColumnData::Boolean(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            ColumnData::Int64(_) => "int64",
            ColumnData::Float64(_) => "float64",
            ColumnData::Text(_) => "text",
            ColumnData::Boolean(_) => "boolean",
        }
    }
}

impl Column {
    pub fn i64(name: &str, values: Vec<i64>) -> Self {
        Self {
            name: name.to_owned(),
            data: ColumnData::Int64(values),
        }
    }

    pub fn f64(name: &str, values: Vec<f64>) -> Self {
        Self {
            name: name.to_owned(),
            data: ColumnData::Float64(values),
        }
    }

    pub fn text(name: &str, values: Vec<String>) -> Self {
        Self {
            name: name.to_owned(),
            data: ColumnData::Text(values),
        }
    }

    pub fn bool(name: &str, values: Vec<bool>) -> Self {
        Self {
            name: name.to_owned(),
            data: ColumnData::Boolean(values),
        }
    }
}

impl Scalar {
    pub fn money(minor: i64, currency: &str) -> Self {
        Scalar::Money(Money {
            minor,
            currency: currency.to_owned(),
        })
    }
}

impl Labelled {
    pub fn new(label: &str, value: Scalar) -> Self {
        Self {
            label: label.to_owned(),
            value,
        }
    }
}

impl MetricValue {
    /// A value without breakdown.
    pub fn single(value: Scalar) -> Self {
        Self {
            value,
            breakdown: Vec::new(),
        }
    }

    /// The breakdown entry labelled `label`.
    pub fn part(&self, label: &str) -> Option<&Scalar> {
        self.breakdown
            .iter()
            .find(|l| l.label == label)
            .map(|l| &l.value)
    }
}

impl InputSpec {
    pub fn required(name: &str, kind: ColumnType, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            required: true,
            description: description.to_owned(),
        }
    }

    pub fn optional(name: &str, kind: ColumnType, description: &str) -> Self {
        Self {
            required: false,
            ..Self::required(name, kind, description)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name_and_type() {
        let b = Batch::from_columns(vec![
            Column::i64("units", vec![1, 2, 3]),
            Column::text("condition", vec!["A".into(), "B".into(), "A".into()]),
        ]);
        assert_eq!(b.rows, 3);
        assert_eq!(b.i64s("units"), Ok(&[1i64, 2, 3][..]));
        assert!(
            matches!(b.f64s("units"), Err(PluginError::InvalidInput(m)) if m.contains("must be float64, found int64"))
        );
        assert!(
            matches!(b.i64s("absent"), Err(PluginError::InvalidInput(m)) if m.contains("`absent` is missing"))
        );
        assert_eq!(b.opt_i64s("absent"), Ok(None));
    }
}
