//! Reading a CSV file row by row into trimmed cells numbered the way a spreadsheet numbers its rows.
//!
//! The reader streams: it holds one record and the few kilobytes the CSV parser has read ahead, whatever the size
//! of the file, so order histories of millions of lines pass through in constant memory.

use crate::ImportError;
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex, PoisonError};

/// One non-blank data row.
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    /// 1-based spreadsheet row; the header is row 1 when it is on the first line.
    pub row: usize,
    record: csv::StringRecord,
}

impl RawRow {
    /// The cell at `index` with surrounding whitespace removed; `None` past the end of the row.
    pub(crate) fn cell(&self, index: usize) -> Option<&str> {
        self.record.get(index).map(str::trim)
    }

    /// Every cell, trimmed.
    pub(crate) fn cells(&self) -> impl Iterator<Item = &str> {
        self.record.iter().map(str::trim)
    }
}

#[derive(Debug)]
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<RawRow>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Bytes read before parsing starts, to find the delimiter from the header line.
const PREFIX: u64 = 64 * 1024;
/// Bytes already numbered that the window keeps before discarding them in one go (amortises the move).
const KEEP: usize = 256 * 1024;

/// Bytes the CSV parser has read and the row numbering has not yet passed; shared with [`Tap`].
#[derive(Default)]
struct Window {
    /// Stream offset of `bytes[0]`.
    start: u64,
    bytes: Vec<u8>,
}

/// Hands the parser its input and keeps a copy in the window, so line breaks the parser skipped (blank lines,
/// CR-only endings) can still be counted.
struct Tap<R> {
    inner: R,
    window: Arc<Mutex<Window>>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut w = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        w.bytes.extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Chains the prefix already read with the rest of the input without boxing the reader.
struct Chained<R> {
    prefix: Cursor<Vec<u8>>,
    rest: R,
}

impl<R: Read> Read for Chained<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.prefix.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        self.rest.read(buf)
    }
}

/// A CSV stream: the header row, then the data rows one at a time.
pub(crate) struct RowReader<R> {
    csv: csv::Reader<Tap<Chained<R>>>,
    window: Arc<Mutex<Window>>,
    pub header: Vec<String>,
    /// Stream offset up to which line breaks are counted.
    counted_to: u64,
    /// 1-based line of `counted_to`.
    line: usize,
    /// Line breaks inside quoted cells so far: they advance the line count but not the spreadsheet row.
    embedded: usize,
    /// Whether the stream started with a byte-order mark (not part of the offsets).
    bom: bool,
}

impl<R: Read> RowReader<R> {
    /// Reads up to the header row. `empty` makes the error for a file without one.
    pub(crate) fn open(
        mut reader: R,
        empty: impl FnOnce() -> ImportError,
    ) -> Result<Self, ImportError> {
        let mut prefix = Vec::new();
        (&mut reader)
            .take(PREFIX)
            .read_to_end(&mut prefix)
            .map_err(ImportError::Read)?;
        // Excel's "CSV UTF-8" writes a byte-order mark that would otherwise become part of the first column's name.
        let bom = prefix.starts_with(BOM);
        if bom {
            prefix.drain(..BOM.len());
        }
        let delimiter = sniff_delimiter(&prefix);
        let window = Arc::new(Mutex::new(Window::default()));
        let tap = Tap {
            inner: Chained {
                prefix: Cursor::new(prefix),
                rest: reader,
            },
            window: Arc::clone(&window),
        };
        let csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            // Rows of a different length are reported per row instead of refusing the whole file.
            .flexible(true)
            .buffer_capacity(64 * 1024)
            .from_reader(tap);
        let mut rows = Self {
            csv,
            window,
            header: Vec::new(),
            counted_to: 0,
            line: 1,
            embedded: 0,
            bom,
        };
        match rows.next_row()? {
            Some(header) => {
                rows.header = header.cells().map(str::to_owned).collect();
                Ok(rows)
            }
            None => Err(empty()),
        }
    }

    /// Bytes of the input consumed so far, for progress reports.
    pub(crate) fn position(&self) -> u64 {
        self.counted_to + if self.bom { BOM.len() as u64 } else { 0 }
    }

    /// The next non-blank row, `None` at the end of the input.
    pub(crate) fn next_row(&mut self) -> Result<Option<RawRow>, ImportError> {
        loop {
            let mut record = csv::ByteRecord::with_capacity(256, 32);
            let more = self
                .csv
                .read_byte_record(&mut record)
                .map_err(convert_csv_error)?;
            if !more {
                let w = self.window.lock().unwrap_or_else(PoisonError::into_inner);
                self.counted_to = w.start + w.bytes.len() as u64;
                return Ok(None);
            }
            let reported = record.position().map_or(0, csv::Position::byte);
            let row = self.advance_to(reported);
            let line = self.line;
            let breaks: usize = record.iter().map(count_line_breaks).sum();
            self.embedded += breaks;
            let record = match csv::StringRecord::from_byte_record(record) {
                Ok(r) => r,
                Err(e) => {
                    let (field, valid_up_to) =
                        (e.utf8_error().field(), e.utf8_error().valid_up_to());
                    let record = e.into_byte_record();
                    let before: usize = record
                        .iter()
                        .take(field)
                        .map(count_line_breaks)
                        .sum::<usize>()
                        + record
                            .get(field)
                            .and_then(|f| f.get(..valid_up_to))
                            .map_or(0, count_line_breaks);
                    return Err(ImportError::NotUtf8 {
                        line: (line + before) as u64,
                    });
                }
            };
            // Spreadsheets leave rows of bare separators (",,,") after the data; they carry nothing.
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            return Ok(Some(RawRow { row, record }));
        }
    }

    /// Counts the line breaks between the previous record and the one reported at `reported` (the reported offset
    /// can point at the previous line's terminator or at skipped blank lines) and returns the record's row.
    fn advance_to(&mut self, reported: u64) -> usize {
        let mut w = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let from = reported.max(self.counted_to);
        let at =
            |offset: u64| usize::try_from(offset.saturating_sub(w.start)).unwrap_or(usize::MAX);
        let start = w
            .bytes
            .get(at(from)..)
            .and_then(|rest| rest.iter().position(|b| *b != b'\r' && *b != b'\n'))
            .map_or(from, |skip| from + skip as u64);
        self.line += count_line_breaks(
            w.bytes
                .get(at(self.counted_to)..at(start))
                .unwrap_or_default(),
        );
        self.counted_to = start;
        let done = at(start);
        if done > KEEP {
            w.bytes.drain(..done);
            w.start = start;
        }
        self.line - self.embedded
    }
}

/// Reads the whole input. Products and stock files are read up front rather than streamed because nothing may be
/// imported before every row has been checked, and seller catalogs are small enough (tens of thousands of rows)
/// to hold.
pub(crate) fn read_table(
    reader: impl Read,
    empty: impl FnOnce() -> ImportError,
) -> Result<Table, ImportError> {
    let mut rows = RowReader::open(reader, empty)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next_row()? {
        out.push(row);
    }
    Ok(Table {
        header: rows.header,
        rows: out,
    })
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

    fn empty() -> ImportError {
        ImportError::Empty {
            expected: String::new(),
        }
    }

    fn rows(input: &str) -> Vec<(usize, Vec<String>)> {
        let table = read_table(input.as_bytes(), empty).expect("readable");
        table
            .rows
            .into_iter()
            .map(|r| (r.row, r.cells().map(str::to_owned).collect()))
            .collect()
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
    fn numbering_survives_the_window_being_trimmed() {
        // Far more than the window keeps, with blank lines and quoted line breaks along the way.
        let mut input = String::from("a,b\n");
        let mut expected = Vec::new();
        let mut row = 1;
        for i in 0..40_000 {
            row += 1;
            if i % 7 == 0 {
                input.push_str("\r\n");
                row += 1;
            }
            if i % 11 == 0 {
                input.push_str(&format!("\"line\r\nbreak {i}\",{i}\r\n"));
            } else {
                input.push_str(&format!("{i},{i}\r\n"));
            }
            expected.push(row);
        }
        assert_eq!(numbers(&input), expected);
    }

    #[test]
    fn cells_are_trimmed_and_the_bom_removed() {
        assert_eq!(
            rows("\u{feff}a,b\n x , y\u{3000}\n"),
            vec![(2, vec!["x".to_owned(), "y".to_owned()])]
        );
        let table = read_table("\u{feff}sku,b\n".as_bytes(), empty).expect("readable");
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
        match read_table(&bytes[..], empty) {
            Err(ImportError::NotUtf8 { line }) => assert_eq!(line, 4),
            other => panic!("expected NotUtf8, got {other:?}"),
        }
        let bytes = b"a,b\n\"x\ny\",\xff\n";
        match read_table(&bytes[..], empty) {
            Err(ImportError::NotUtf8 { line }) => assert_eq!(line, 3),
            other => panic!("expected NotUtf8, got {other:?}"),
        }
    }

    #[test]
    fn line_breaks() {
        assert_eq!(count_line_breaks(b"a\r\nb\nc\rd\r\r\n"), 5);
        assert_eq!(count_line_breaks(b""), 0);
    }
}
