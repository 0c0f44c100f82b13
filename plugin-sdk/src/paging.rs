//! Pagination helpers: the host asks for one page at a time and stores it with its cursor, but marketplace
//! pages are often small, so a connector may gather several upstream pages into one host page.

use crate::PluginError;
use crate::records::{Page, SyncRecord};

/// One upstream page: records plus the cursor of the next one (`None` when exhausted).
pub struct UpstreamPage {
    pub records: Vec<SyncRecord>,
    pub next_cursor: Option<String>,
}

/// Calls `fetch` from `cursor` until at least `target` records are gathered or the source is exhausted,
/// then returns one host page whose cursor resumes exactly after the last upstream page taken.
///
/// An upstream that hands back the cursor it was given would loop forever; that is reported as
/// [`PluginError::Upstream`] instead.
pub fn fill_page<F>(
    cursor: Option<String>,
    target: usize,
    mut fetch: F,
) -> Result<Page, PluginError>
where
    F: FnMut(Option<&str>) -> Result<UpstreamPage, PluginError>,
{
    let mut records = Vec::new();
    let mut cursor = cursor;
    loop {
        let page = fetch(cursor.as_deref())?;
        records.extend(page.records);
        match page.next_cursor {
            None => {
                return Ok(Page {
                    records,
                    next_cursor: None,
                    has_more: false,
                });
            }
            Some(next) if Some(&next) == cursor.as_ref() => {
                return Err(PluginError::Upstream(format!(
                    "the source returned cursor {next:?} again; refusing to loop"
                )));
            }
            Some(next) => {
                cursor = Some(next);
                if records.len() >= target {
                    return Ok(Page {
                        records,
                        next_cursor: cursor,
                        has_more: true,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{StockLevel, SyncRecord};

    fn stock(sku: &str) -> SyncRecord {
        SyncRecord::Stock(StockLevel {
            sku: sku.into(),
            location: None,
            available: 1,
            on_hand: None,
            observed_at: 0,
        })
    }

    #[test]
    fn gathers_small_upstream_pages_into_one() {
        // Upstream: 5 pages of 2 records, cursors "1".."4".
        let upstream = |c: Option<&str>| {
            let n: u32 = c.map_or(0, |c| c.parse().unwrap_or(99));
            Ok(UpstreamPage {
                records: vec![stock(&format!("a{n}")), stock(&format!("b{n}"))],
                next_cursor: (n < 4).then(|| (n + 1).to_string()),
            })
        };
        let first = fill_page(None, 3, upstream).expect("page");
        assert_eq!(first.records.len(), 4);
        assert_eq!(first.next_cursor.as_deref(), Some("2"));
        assert!(first.has_more);
        let last = fill_page(Some("2".into()), 100, upstream).expect("page");
        assert_eq!(last.records.len(), 6);
        assert_eq!(last.next_cursor, None);
        assert!(!last.has_more);
    }

    #[test]
    fn a_cursor_that_does_not_advance_is_an_error() {
        let stuck = |_: Option<&str>| {
            Ok(UpstreamPage {
                records: vec![],
                next_cursor: Some("same".into()),
            })
        };
        assert!(matches!(
            fill_page(Some("same".into()), 10, stuck),
            Err(PluginError::Upstream(m)) if m.contains("refusing to loop")
        ));
    }
}
