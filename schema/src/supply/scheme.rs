//! Supplier assessment schemes: versioned sets of weighted criteria answered on a 0–4
//! scale. The built-in scheme has one criterion per example control of handbook 6.4
//! (サプライチェーン・リスク対応), with its text in Japanese and English.

use serde::{Deserialize, Serialize};

/// The highest answer on a criterion's scale (0 = not in place … 4 = fully in place).
pub const MAX_ANSWER: u8 = 4;

/// One criterion of a scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Stable id within the scheme, e.g. `HB64-01`.
    pub id: String,
    pub weight: f64,
    /// The question in Japanese and English; `None` for reference-only schemes whose
    /// text may not be copied (SIG, CAIQ): only the id is stored.
    pub text_ja: Option<String>,
    pub text_en: Option<String>,
}

/// A versioned scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scheme {
    pub id: String,
    pub version: String,
    pub name_ja: String,
    pub name_en: String,
    pub criteria: Vec<Criterion>,
    /// Days an assessment under this scheme stays valid by default.
    pub default_validity_days: u32,
}

impl Scheme {
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }
}

/// The built-in scheme's id.
pub const HANDBOOK_SCHEME_ID: &str = "renkei-handbook-6.4";

/// (id, weight, Japanese, English) of the handbook 6.4 example controls, in the
/// handbook's order. Weights favour what stops malicious functions and supply
/// disruption, which the handbook names as the threats.
const HANDBOOK_CRITERIA: [(&str, f64, &str, &str); 11] = [
    ("HB64-01", 1.0, "調達過程における一貫した品質管理が担保できることの選定基準への盛り込み", "Consistent quality control throughout the procurement process is a selection criterion"),
    ("HB64-02", 2.0, "指定したセキュリティ要件が実装されているか、不正プログラムが混入していないかを確認する検査体制の構築", "Inspection confirms that the specified security requirements are implemented and that no malicious function is embedded"),
    ("HB64-03", 1.5, "委託先が再委託先を監督し責任を負うことが可能な体制であるかの確認", "The contractor can supervise its subcontractors and answer for them"),
    ("HB64-04", 1.0, "再委託の禁止、又は再委託前に委託元の許可を得ることの契約要件への盛り込み", "The contract forbids subcontracting or requires the client's prior approval"),
    ("HB64-05", 1.5, "部品の供給役務の継続提供の担保", "Continued supply of parts and services is guaranteed"),
    ("HB64-06", 1.0, "供給者の事業計画や提供実績等の確認", "The supplier's business plan and track record have been checked"),
    ("HB64-07", 1.0, "委託先の事業実施場所の確認、立地条件の考慮", "Where the contracted work is performed is known, and the site's conditions considered"),
    ("HB64-08", 1.0, "信用できるサービスの選定", "External services used are trustworthy"),
    ("HB64-09", 1.0, "情報の返却や抹消などに係る確認手段の設定", "There are means to confirm the return or erasure of data"),
    ("HB64-10", 1.0, "第三者による評価検証結果の活用", "Third-party evaluation results are used"),
    ("HB64-11", 1.5, "サプライチェーンとのネットワーク接続点におけるセキュリティの確認", "The security of network connection points with the supply chain is confirmed"),
];

/// The built-in handbook 6.4 scheme.
pub fn handbook_scheme() -> Scheme {
    Scheme {
        id: HANDBOOK_SCHEME_ID.into(),
        version: "1".into(),
        name_ja:
            "重要インフラのサイバーセキュリティ部門におけるリスクマネジメント等手引書 6.4 サプライチェーン・リスク対応"
                .into(),
        name_en: "NISC risk-management handbook for critical infrastructure, 6.4 supply-chain risk".into(),
        criteria: HANDBOOK_CRITERIA
            .iter()
            .map(|(id, weight, ja, en)| Criterion {
                id: (*id).into(),
                weight: *weight,
                text_ja: Some((*ja).into()),
                text_en: Some((*en).into()),
            })
            .collect(),
        default_validity_days: 365,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handbook_scheme_has_one_bilingual_criterion_per_example_control() {
        let s = handbook_scheme();
        assert_eq!(s.criteria.len(), 11);
        let mut ids: Vec<&str> = s.criteria.iter().map(|c| c.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 11, "ids are unique");
        for c in &s.criteria {
            assert!(c.weight > 0.0);
            assert!(c.text_ja.as_deref().is_some_and(|t| !t.is_ascii()), "{} has Japanese text", c.id);
            assert!(c.text_en.as_deref().is_some_and(|t| t.is_ascii()), "{} has English text", c.id);
        }
        assert!(s.criterion("HB64-11").is_some() && s.criterion("HB64-12").is_none());
    }
}
