//! The NIST CSF 2.0 functions and categories the register cites (risks) and profiles
//! (the current and target tier per area): ids with their names in English and
//! Japanese, and reading an id as written by a member.

use crate::bail;
use crate::error::Result;

/// CSF 2.0 functions and their categories, with names in English and Japanese.
pub const CSF: [(&str, &str, &str); 28] = [
    ("GV", "Govern", "統治"),
    ("GV.OC", "Organizational Context", "組織の状況"),
    ("GV.RM", "Risk Management Strategy", "リスクマネジメント戦略"),
    ("GV.RR", "Roles, Responsibilities, and Authorities", "役割、責任、権限"),
    ("GV.PO", "Policy", "ポリシー"),
    ("GV.OV", "Oversight", "監督"),
    ("GV.SC", "Cybersecurity Supply Chain Risk Management", "サプライチェーンリスク管理"),
    ("ID", "Identify", "識別"),
    ("ID.AM", "Asset Management", "資産管理"),
    ("ID.RA", "Risk Assessment", "リスクアセスメント"),
    ("ID.IM", "Improvement", "改善"),
    ("PR", "Protect", "防御"),
    ("PR.AA", "Identity Management, Authentication, and Access Control", "ID管理、認証、アクセス制御"),
    ("PR.AT", "Awareness and Training", "意識向上とトレーニング"),
    ("PR.DS", "Data Security", "データセキュリティ"),
    ("PR.PS", "Platform Security", "プラットフォームセキュリティ"),
    ("PR.IR", "Technology Infrastructure Resilience", "技術インフラのレジリエンス"),
    ("DE", "Detect", "検知"),
    ("DE.CM", "Continuous Monitoring", "継続的モニタリング"),
    ("DE.AE", "Adverse Event Analysis", "有害事象の分析"),
    ("RS", "Respond", "対応"),
    ("RS.MA", "Incident Management", "インシデント管理"),
    ("RS.AN", "Incident Analysis", "インシデント分析"),
    ("RS.CO", "Incident Response Reporting and Communication", "インシデント対応の報告とコミュニケーション"),
    ("RS.MI", "Incident Mitigation", "インシデントの低減"),
    ("RC", "Recover", "復旧"),
    ("RC.RP", "Incident Recovery Plan Execution", "インシデント復旧計画の実行"),
    ("RC.CO", "Incident Recovery Communication", "インシデント復旧のコミュニケーション"),
];

/// The CSF function or category an id names (`ID.RA`, or a subcategory `ID.RA-05`
/// read as its category), canonical, or an error in both languages.
pub fn area(raw: &str) -> Result<&'static str> {
    let upper = raw.trim().to_uppercase();
    let category = upper.split('-').next().unwrap_or_default();
    match CSF.iter().find(|(id, _, _)| *id == category) {
        Some((id, _, _)) => Ok(id),
        None => bail!(
            "{raw:?} is not a NIST CSF 2.0 function or category (GV, ID.RA, PR.AA…) / 「{raw}」はCSF 2.0の機能・カテゴリではありません"
        ),
    }
}

pub fn area_name(id: &str) -> String {
    CSF.iter().find(|(a, _, _)| *a == id).map_or_else(String::new, |(_, en, ja)| format!("{en} / {ja}"))
}
