//! CSV written for spreadsheets (RFC 4180 through the `csv` crate): every cell quoted when it
//! holds a comma, a quote, a CR or an LF, so no value can split a row; and a cell that begins
//! with `=`, `+`, `-`, `@`, a tab or a CR is prefixed with `'`, so that a spreadsheet shows it
//! as text instead of running it as a formula (OWASP, CSV injection). Department and site
//! names come from the HRIS: they are data, never formulas.

/// Whether a spreadsheet would read the cell as the start of a formula.
fn is_formula_like(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The cell as written: text that could run as a formula gets a leading `'`.
pub fn neutralized(cell: &str) -> std::borrow::Cow<'_, str> {
    if is_formula_like(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Rows as CSV text, CRLF-terminated, every cell neutralized.
pub fn write<R, C>(rows: R) -> Result<String, csv::Error>
where
    R: IntoIterator<Item = Vec<C>>,
    C: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    for row in rows {
        writer.write_record(row.iter().map(|c| neutralized(c.as_ref()).into_owned()))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    String::from_utf8(bytes)
        .map_err(|e| csv::Error::from(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn formulas_are_text_and_no_value_splits_a_row() {
        let out = write([
            vec!["group", "pairs"],
            vec!["=HYPERLINK(\"http://x.example\",\"clic\")", "3"],
            vec!["@SUM(1+1)", "+1"],
            vec!["-2+3", "\tx"],
            vec!["a\rb", "c\nd"],
            vec!["Cardiologie, bloc", "plain"],
        ])
        .unwrap();
        assert_eq!(
            out,
            "group,pairs\r\n\
             \"'=HYPERLINK(\"\"http://x.example\"\",\"\"clic\"\")\",3\r\n\
             '@SUM(1+1),'+1\r\n\
             '-2+3,'\tx\r\n\
             \"a\rb\",\"c\nd\"\r\n\
             \"Cardiologie, bloc\",plain\r\n"
        );
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(out.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(&rows[3][0], "a\rb");
        assert!(rows.iter().all(|r| r.len() == 2));
    }
}
