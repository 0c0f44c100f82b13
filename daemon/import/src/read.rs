//! Reading a CSV file into trimmed cells numbered the way a spreadsheet numbers its rows.

use crate::{ImportError, ImportKind, columns};
use std::io::Read;

/// One non-blank data row.
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    /// 1-based spreadsheet row; the header is row 1 when it is on the first line.
    pub row: usize,
    /// Cells with surrounding whitespace removed.
    pub cells: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<RawRow>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads the whole input. The file is read up front rather than streamed because nothing may be imported before
/// every row has been checked anyway, and seller catalogs are small enough (tens of thousands of rows) to hold.
pub(crate) fn read_table(mut reader: impl Read, kind: ImportKind) -> Result<Table, ImportError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(ImportError::Read)?;
    // Excel's "CSV UTF-8" writes a byte-order mark that would otherwise become part of the first column's name.
    let content = bytes.strip_prefix(BOM).unwrap_or(&bytes);

    if let Err(e) = std::str::from_utf8(content) {
        let before = content.get(..e.valid_up_to()).unwrap_or_default();
        return Err(ImportError::NotUtf8 {
            line: count_line_breaks(before) as u64 + 1,
        });
    }

    let mut csv = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(content))
        .has_headers(false)
        // Rows of a different length are reported per row instead of refusing the whole file.
        .flexible(true)
        .from_reader(content);

    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    // Lines are counted here rather than taken from the CSV reader, whose count skips blank lines and is off by
    // one with CRLF endings. `counted_to`/`line` advance monotonically, so the whole file is scanned once.
    let mut counted_to = 0_usize;
    let mut line = 1_usize;
    // Line breaks inside quoted cells advance the line count but not the spreadsheet row count.
    let mut embedded_breaks = 0_usize;
    for record in csv.records() {
        let record = record.map_err(convert_csv_error)?;
        let reported = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(counted_to)
            .max(counted_to);
        // The reported offset can point at the previous line's terminator or at skipped blank lines.
        let start = content
            .get(reported..)
            .and_then(|rest| rest.iter().position(|b| *b != b'\r' && *b != b'\n'))
            .map_or(content.len(), |skip| reported + skip);
        line += count_line_breaks(content.get(counted_to..start).unwrap_or_default());
        counted_to = start;
        let row = line - embedded_breaks;
        embedded_breaks += record
            .iter()
            .map(|cell| count_line_breaks(cell.as_bytes()))
            .sum::<usize>();
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        // Spreadsheets leave rows of bare separators (",,,") after the data; they carry nothing.
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if header.is_none() {
            header = Some(cells);
        } else {
            rows.push(RawRow { row, cells });
        }
    }
    let header = header.ok_or_else(|| ImportError::Empty {
        expected: columns::expected_columns(kind),
    })?;
    Ok(Table { header, rows })
}

/// Excel writes ";" between cells where the comma is the decimal separator (much of Europe) and a tab for
/// "Text (Tab delimited)". The header row tells which one a file uses; a wrong guess cannot slip through, because
/// the header must then still name known columns.
fn sniff_delimiter(content: &[u8]) -> u8 {
    let header = content
        .split(|b| *b == b'\n' || *b == b'\r')
        .find(|line| line.iter().any(|b| !b.is_ascii_whitespace() && *b != b','))
        .unwrap_or_default();
    if header.contains(&b',') {
        b','
    } else if header.contains(&b';') {
        b';'
    } else if header.contains(&b'\t') {
        b'\t'
    } else {
        b','
    }
}

/// Line breaks as spreadsheets write them: CRLF (Windows), LF, or a lone CR (old Mac "CSV (Macintosh)").
fn count_line_breaks(bytes: &[u8]) -> usize {
    let mut n = 0;
    let mut iter = bytes.iter().peekable();
    while let Some(b) = iter.next() {
        match b {
            b'\n' => n += 1,
            b'\r' => {
                n += 1;
                if iter.peek() == Some(&&b'\n') {
                    iter.next();
                }
            }
            _ => {}
        }
    }
    n
}

fn convert_csv_error(err: csv::Error) -> ImportError {
    let line = err.position().map_or(0, csv::Position::line);
    let message = err.to_string();
    match err.into_kind() {
        csv::ErrorKind::Utf8 { pos, .. } => ImportError::NotUtf8 {
            line: pos.map_or(line, |p| p.line()),
        },
        csv::ErrorKind::Io(e) => ImportError::Read(e),
        _ => ImportError::Syntax { line, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &str) -> Vec<(usize, Vec<String>)> {
        let table = read_table(input.as_bytes(), ImportKind::Products).expect("readable");
        table.rows.into_iter().map(|r| (r.row, r.cells)).collect()
    }

    fn numbers(input: &str) -> Vec<usize> {
        rows(input).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn rows_are_numbered_like_a_spreadsheet_whatever_the_line_endings() {
        let lf = "a,b\n1,2\n\n3,4\n\"x\ny\",5\n6,7\n";
        assert_eq!(numbers(lf), vec![2, 4, 5, 6]);
        assert_eq!(numbers(&lf.replace('\n', "\r\n")), vec![2, 4, 5, 6]);
        assert_eq!(numbers(&lf.replace('\n', "\r")), vec![2, 4, 5, 6]);
        assert_eq!(numbers("\u{feff}a,b\r\n1,2\r\n,\r\n\r\n"), vec![2]);
        // Blank lines before the header move it down, like in the spreadsheet.
        assert_eq!(numbers("\n\na,b\n1,2"), vec![4]);
    }

    #[test]
    fn cells_are_trimmed_and_the_bom_removed() {
        assert_eq!(
            rows("\u{feff}a,b\n x , y\u{3000}\n"),
            vec![(2, vec!["x".to_owned(), "y".to_owned()])]
        );
        let table =
            read_table("\u{feff}sku,b\n".as_bytes(), ImportKind::Products).expect("readable");
        assert_eq!(table.header, vec!["sku", "b"]);
    }

    #[test]
    fn semicolon_and_tab_files() {
        assert_eq!(
            rows("sku;title;price\nA-1;Bag, red;\"12,50\"\n"),
            vec![(
                2,
                vec!["A-1".to_owned(), "Bag, red".to_owned(), "12,50".to_owned()]
            )]
        );
        assert_eq!(
            rows("sku\ttitle\nA-1\tBag\n").first().map(|r| r.1.len()),
            Some(2)
        );
        assert_eq!(rows("sku\nA-1\n").first().map(|r| r.1.len()), Some(1));
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let bytes = b"a,b\r\n1,2\r\n\r\n3,\x83\x6F\r\n";
        match read_table(&bytes[..], ImportKind::Products) {
            Err(ImportError::NotUtf8 { line }) => assert_eq!(line, 4),
            other => panic!("expected NotUtf8, got {other:?}"),
        }
    }

    #[test]
    fn line_breaks() {
        assert_eq!(count_line_breaks(b"a\r\nb\nc\rd\r\r\n"), 5);
        assert_eq!(count_line_breaks(b""), 0);
    }
}
