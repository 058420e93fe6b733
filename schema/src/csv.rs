//! CSV cells for spreadsheets. Member analysts open indicator exports in Excel or
//! LibreOffice, and a shared value is written by whoever shared it: a cell that begins
//! with `=`, `+`, `-`, `@`, a tab or a carriage return is taken as a formula there
//! (CSV injection; `=HYPERLINK(...)`, `=cmd|'/C calc'!A0`, DDE). As OWASP recommends,
//! such a cell is quoted and begins with a single quote, which the spreadsheet shows as
//! text; the full-width forms (＝ ＋ － ＠) are treated the same, since Japanese
//! spreadsheets read them as formula signs too. Every cell is quoted when it holds a
//! comma, a quote or a line break, with quotes doubled (RFC 4180). Both the hub's
//! `/export/indicators?format=csv` and the client's `export --format csv` write cells
//! through [`push_cell`].

/// Characters that make a spreadsheet read a cell as a formula when they begin it.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

/// Appends one cell, neutralised and quoted as needed.
pub fn push_cell(out: &mut String, value: &str) {
    let formula = value.starts_with(FORMULA_STARTS);
    let quoted = formula || value.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    if value.contains('"') {
        out.push_str(&value.replace('"', "\"\""));
    } else {
        out.push_str(value);
    }
    if quoted {
        out.push('"');
    }
}

/// One row of cells, ending with a line break.
pub fn row(cells: &[&str]) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(&mut out, cell);
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(v: &str) -> String {
        let mut out = String::new();
        push_cell(&mut out, v);
        out
    }

    #[test]
    fn formulas_are_neutralised_and_plain_values_left_alone() {
        assert_eq!(cell("198.51.100.7"), "198.51.100.7");
        assert_eq!(cell("evil.example"), "evil.example");
        assert_eq!(cell("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
        assert_eq!(cell("+1+cmd|' /C calc'!A0"), "\"'+1+cmd|' /C calc'!A0\"");
        assert_eq!(cell("-2+3"), "\"'-2+3\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\t=1"), "\"'\t=1\"");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        assert_eq!(cell("＝1+1"), "\"'＝1+1\"");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("x=1"), "x=1");
        assert_eq!(cell(""), "");
        assert_eq!(row(&["=1", "b"]), "\"'=1\",b\n");
    }
}
