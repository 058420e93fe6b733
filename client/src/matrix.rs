//! The risk matrix both analysis methods of handbook 5.2 share. A rating has three
//! factors on one scale (1..=scale): the impact (the asset's importance for the
//! asset-based method, the size of the business damage for the business-damage-based
//! one), the threat (or attack) likelihood and the vulnerability. The handbook's risk
//! value is their product; the matrix turns threat and vulnerability into a likelihood
//! (`likelihood[threat-1][vulnerability-1]`) and likelihood and impact into a level
//! (`grid[likelihood-1][impact-1]`), each level with its review interval.
//!
//! The matrix lives in the register's settings as JSON with a version; a risk records
//! the version it was rated under, and a new version flags every older rating for
//! review rather than clamping it silently.

use crate::error::{Context as _, Result};
use crate::{bail, ensure};
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};

use crate::register;

/// Settings key of the matrix in force.
const MATRIX: &str = "risk_matrix";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub name: String,
    pub name_ja: String,
    /// A risk at this level is due for review this many days after its last review.
    pub review_days: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    pub version: i64,
    /// Factors run 1..=scale.
    pub scale: usize,
    /// `likelihood[threat-1][vulnerability-1]`: the likelihood (1..=scale) of a
    /// successful attack.
    pub likelihood: Vec<Vec<usize>>,
    /// `grid[likelihood-1][impact-1]`: the index of the level.
    pub grid: Vec<Vec<usize>>,
    /// From the lowest to the highest.
    pub levels: Vec<Level>,
}

/// The three factors of a rating, each 1..=scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factors {
    pub impact: usize,
    pub threat: usize,
    pub vulnerability: usize,
}

/// A rating worked out on the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rated {
    pub factors: Factors,
    pub likelihood: usize,
    /// The handbook's value: impact × threat × vulnerability.
    pub value: usize,
    pub level: usize,
}

impl Default for Matrix {
    /// 5 × 5 with four levels; likelihood is threat × vulnerability brought back to the
    /// scale (rounded up), the level follows likelihood × impact (≤ 4 low, ≤ 9 medium,
    /// ≤ 16 high, else very high). Review intervals as SimpleRisk's defaults.
    fn default() -> Matrix {
        let likelihood =
            (1..=5usize).map(|t| (1..=5usize).map(|v| (t * v).div_ceil(5).clamp(1, 5)).collect()).collect();
        let grid = (1..=5)
            .map(|l| {
                (1..=5)
                    .map(|i| match l * i {
                        0..=4 => 0,
                        5..=9 => 1,
                        10..=16 => 2,
                        _ => 3,
                    })
                    .collect()
            })
            .collect();
        let level =
            |name: &str, name_ja: &str, review_days| Level { name: name.into(), name_ja: name_ja.into(), review_days };
        Matrix {
            version: 1,
            scale: 5,
            likelihood,
            grid,
            levels: vec![
                level("Low", "低", 360),
                level("Medium", "中", 180),
                level("High", "高", 90),
                level("Very high", "極めて高い", 90),
            ],
        }
    }
}

/// The longest review interval, of a level or of a risk: 100 years. Longer ones ran
/// the next review date past the end of the calendar (a panic).
pub const MAX_REVIEW_DAYS: i64 = 36_500;

impl Matrix {
    /// Checks the shape: every table scale × scale, every entry in range.
    pub fn validate(&self) -> Result<()> {
        ensure!((2..=10).contains(&self.scale), "scale must be 2 to 10 / スケールは2〜10です");
        ensure!(!self.levels.is_empty(), "the matrix has no levels / レベルがありません");
        for (name, table, max) in
            [("likelihood", &self.likelihood, self.scale), ("grid", &self.grid, self.levels.len())]
        {
            ensure!(
                table.len() == self.scale && table.iter().all(|r| r.len() == self.scale),
                "{name} must be {0} rows of {0} / {name}は{0}行{0}列です",
                self.scale
            );
            if name == "likelihood" {
                ensure!(
                    table.iter().flatten().all(|&v| (1..=max).contains(&v)),
                    "likelihood entries must be 1 to {max} / likelihoodの値は1〜{max}です"
                );
            } else {
                ensure!(
                    table.iter().flatten().all(|&v| v < max),
                    "grid entries must be level indexes 0 to {} / gridの値は0〜{}です",
                    max - 1,
                    max - 1
                );
            }
        }
        ensure!(
            self.levels.iter().all(|l| (1..=MAX_REVIEW_DAYS).contains(&l.review_days)),
            "review_days must be 1 to {MAX_REVIEW_DAYS} / review_daysは1〜{MAX_REVIEW_DAYS}です"
        );
        Ok(())
    }

    /// Places three factors on the matrix.
    pub fn rate(&self, f: Factors) -> Result<Rated> {
        for (name, v) in [("impact", f.impact), ("threat", f.threat), ("vulnerability", f.vulnerability)] {
            if !(1..=self.scale).contains(&v) {
                bail!("{name} {v} is outside 1..{} / {name}は1〜{}です", self.scale, self.scale);
            }
        }
        let likelihood = self.likelihood[f.threat - 1][f.vulnerability - 1];
        Ok(Rated {
            factors: f,
            likelihood,
            value: f.impact * f.threat * f.vulnerability,
            level: self.grid[likelihood - 1][f.impact - 1],
        })
    }

    pub fn level_name(&self, level: usize) -> String {
        self.levels.get(level).map_or_else(|| "?".into(), |l| format!("{} / {}", l.name, l.name_ja))
    }
}

/// The matrix in force (the default until one is set).
pub fn current(conn: &mut SqliteConnection) -> Result<Matrix> {
    match register::get(conn, MATRIX)? {
        Some(text) => serde_json::from_str(&text).context("the stored risk matrix"),
        None => Ok(Matrix::default()),
    }
}

/// Puts a new matrix in force; its version must be above the current one. Returns the
/// matrix stored. The caller flags the risks rated under older versions.
pub fn replace(conn: &mut SqliteConnection, new: Matrix) -> Result<Matrix> {
    new.validate()?;
    let old = current(conn)?;
    ensure!(
        new.version > old.version,
        "the new matrix must have a version above {} / 新しいマトリクスのversionは{}より大きくしてください",
        old.version,
        old.version
    );
    register::set(conn, MATRIX, &serde_json::to_string(&new)?)?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matrix_is_valid_and_monotonic() {
        let m = Matrix::default();
        m.validate().expect("valid");
        let f = |impact, threat, vulnerability| Factors { impact, threat, vulnerability };
        assert_eq!(m.rate(f(1, 1, 1)).expect("rated").level, 0);
        assert_eq!(m.rate(f(5, 5, 5)).expect("rated").level, 3);
        assert_eq!(m.rate(f(5, 5, 5)).expect("rated").value, 125);
        // A higher factor never lowers the level.
        for i in 1..=5 {
            for t in 1..=5 {
                for v in 1..=5 {
                    let base = m.rate(f(i, t, v)).expect("rated").level;
                    if i < 5 {
                        assert!(m.rate(f(i + 1, t, v)).expect("rated").level >= base);
                    }
                    if v < 5 {
                        assert!(m.rate(f(i, t, v + 1)).expect("rated").level >= base);
                    }
                }
            }
        }
        assert!(m.rate(f(6, 1, 1)).is_err());
        assert!(m.rate(f(0, 1, 1)).is_err());
    }

    #[test]
    fn malformed_matrix_is_refused() {
        let mut m = Matrix::default();
        m.grid[2].pop();
        assert!(m.validate().is_err());
        let mut m = Matrix::default();
        m.grid[0][0] = 9;
        assert!(m.validate().is_err());
        for days in [0, -1, MAX_REVIEW_DAYS + 1, i64::MAX] {
            let mut m = Matrix::default();
            m.levels[0].review_days = days;
            assert!(m.validate().is_err(), "{days}");
        }
    }
}
