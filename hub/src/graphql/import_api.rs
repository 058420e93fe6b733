//! Imports over GraphQL: `importStix` (a STIX 2.1 bundle) and `importMisp` (a MISP event). Each object is checked like
//! the typed mutations' input and the whole import is one transaction; the answer
//! reports every object (stored, queued, updated, duplicate, context or refused with a
//! code, in English and Japanese).

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use renkei_schema::errors::Code;
use renkei_schema::import::{Candidate, Refusal};
use renkei_schema::tlp::Tlp;

use super::types::{Json, TlpGql};
use super::{hub, identity};
use crate::error::AppError;
use crate::services::import::{Defaults, Report};

/// What an import applies to objects that do not say.
#[derive(InputObject, Clone, Debug)]
pub struct ImportSharingInput {
    /// The label of objects that carry no TLP marking (a marked object keeps its own).
    pub tlp: TlpGql,
    /// The recipients of TLP:RED objects (organisation ids).
    #[graphql(default)]
    pub recipients: Vec<ID>,
    #[graphql(default)]
    pub anonymous: bool,
}

/// One source object's outcome.
#[derive(SimpleObject, Clone, Debug)]
pub struct ImportedObject {
    /// Where it is in the source (`objects[3] indicator--…`).
    pub source: String,
    /// Its id on this hub (a new one when the source's was not free).
    pub id: Option<String>,
    /// The STIX `modified` of the version concerned.
    pub version: Option<String>,
    /// stored, queued, updated, duplicate, context or refused.
    pub outcome: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub message_ja: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ImportReport {
    pub stored: i32,
    pub refused: i32,
    pub objects: Vec<ImportedObject>,
}

impl From<Vec<Report>> for ImportReport {
    fn from(reports: Vec<Report>) -> Self {
        let refused = reports.iter().filter(|r| !r.outcome.succeeded()).count() as i32;
        let stored =
            reports.iter().filter(|r| matches!(r.outcome.as_str(), "stored" | "queued" | "updated")).count() as i32;
        ImportReport {
            stored,
            refused,
            objects: reports
                .into_iter()
                .map(|r| ImportedObject {
                    source: r.source,
                    id: r.id,
                    version: r.version,
                    outcome: r.outcome.as_str().into(),
                    code: r.code.map(|c| c.as_str().into()),
                    message: r.message,
                    message_ja: r.message_ja,
                })
                .collect(),
        }
    }
}

pub(crate) fn defaults_of(sharing: ImportSharingInput) -> Defaults {
    Defaults {
        tlp: Tlp::from(sharing.tlp),
        recipients: sharing.recipients.into_iter().map(|r| r.0).collect(),
        anonymous: sharing.anonymous,
        max_tlp: None,
    }
}

/// The common part of both imports: the caller may share, the document is JSON, the
/// reader makes candidates, `actions::import` checks and stores them.
async fn import<F>(
    ctx: &Context<'_>,
    document: Json,
    sharing: ImportSharingInput,
    read: F,
) -> async_graphql::Result<ImportReport>
where
    F: FnOnce(&serde_json::Value, usize, &Defaults) -> Result<Vec<Candidate>, Refusal>,
{
    let who = identity(ctx)?;
    if !who.may_share() {
        return Err(AppError::forbidden("import items").into());
    }
    let Json::Text(text) = document else {
        return Err(AppError::internal("an input JSON is text").into());
    };
    let document: serde_json::Value = serde_json::from_str(&text).map_err(AppError::internal)?;
    let defaults = defaults_of(sharing);
    if defaults.tlp == Tlp::Red && defaults.recipients.is_empty() {
        return Err(AppError::new(
            Code::TlpRedNeedsRecipients,
            "an import labelled TLP:RED must name its recipients",
            "TLP:REDの取り込みには受領組織の指定が必要です",
        )
        .into());
    }
    let h = hub(ctx);
    let candidates = read(&document, h.config.imports.max_objects, &defaults)
        .map_err(|r| AppError::new(r.code, r.message, r.message_ja))?;
    let reports = h.db(move |hub, c| crate::actions::import(hub, c, &who, candidates, &defaults)).await?;
    h.note_writes(crate::services::import::written(&reports));
    Ok(reports.into())
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a STIX 2.1 bundle: indicators (one-comparison STIX patterns),
    /// attack-patterns with an ATT&CK id, vulnerabilities with a CVE id and incidents,
    /// each validated like the typed mutations, in one transaction. TLP 2.0, TLP 1.0 and
    /// OpenCTI marking ids map onto the five labels; an unknown marking refuses its
    /// object; unmarked objects take `sharing.tlp`.
    async fn import_stix(
        &self,
        ctx: &Context<'_>,
        bundle: Json,
        sharing: ImportSharingInput,
    ) -> async_graphql::Result<ImportReport> {
        import(ctx, bundle, sharing, |document, max, _| renkei_schema::stix::import::candidates(document, max)).await
    }

    /// Imports a MISP event (`{"Event": …}` as MISP and PyMISP export it): attributes
    /// as indicators and advisories, ATT&CK galaxy clusters as techniques, each validated
    /// like the typed mutations, in one transaction. `tlp:` tags and MISP distribution
    /// levels give labels never wider than the source said; untagged attributes take
    /// `sharing.tlp` (narrowed by their distribution). Re-importing an event finds its
    /// items as duplicates (ids come from the MISP uuids).
    async fn import_misp(
        &self,
        ctx: &Context<'_>,
        event: Json,
        sharing: ImportSharingInput,
    ) -> async_graphql::Result<ImportReport> {
        import(ctx, event, sharing, |document, _, defaults| {
            renkei_schema::misp::candidates(document, defaults.tlp, &defaults.recipients)
        })
        .await
    }
}
