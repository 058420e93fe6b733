//! How a shared item reads on any console page: its line in a list (label, kind, a
//! short title, status, link), and its fields as label and text. Pages of every area
//! use these; the item's content itself was read through the policy by the caller.

use renkei_schema::model::Body;
use renkei_schema::tlp::Tlp;

use super::{tlp_badge, Ctx, TlpBadge};
use crate::services::stored;
use crate::store::models::ObjectRow;

/// One row of a list of items.
pub struct ItemLine {
    pub id: String,
    pub href: String,
    pub kind: String,
    pub title: String,
    pub tlp: TlpBadge,
    pub status: String,
}

/// The line a list shows for an item.
pub fn line_of(ctx: &Ctx, row: &ObjectRow) -> ItemLine {
    let title = match stored::parts_of(row) {
        // Sealed content is unreadable here: the line says so and shows nothing of it.
        Ok((_, Body::Sealed(_))) => ctx.t.get("item-sealed"),
        Ok((_, body)) => title_of(&body),
        Err(_) => row.id.clone(),
    };
    ItemLine {
        id: row.id.clone(),
        href: format!("/console/items/{}", super::percent_encode(&row.id)),
        kind: ctx.t.get(&format!("kind-{}", row.kind)),
        title,
        tlp: tlp_badge(row.tlp.parse().unwrap_or(Tlp::Red)),
        status: ctx.t.get(&format!("status-{}", row.status)),
    }
}

/// A short title for an item of any kind.
pub fn title_of(body: &Body) -> String {
    match body {
        Body::Indicator(b) => format!("{} {}", b.indicator_type.as_str(), b.value),
        Body::Technique(b) => format!("{} {}", b.attack_id, b.name),
        Body::Incident(b) => b.title.clone(),
        Body::Advisory(b) => b.title.clone(),
        Body::Assessment(b) => format!("{} ({})", b.supplier_id, b.scheme_id),
        // The hub cannot read a sealed item: nothing of it is a title.
        Body::Sealed(_) => String::new(),
    }
}

/// An item's fields as label and text: every field the body holds, in its order.
pub fn fields_for(ctx: &Ctx, body: &Body) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Body::Sealed(_) = body {
        // Sealed TLP:RED: the hub holds only ciphertext; recipients open it in their
        // client.
        out.push((ctx.t.get("item-sealed"), ctx.t.get("item-sealed-note")));
        return out;
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(body) else { return out };
    for (key, value) in map {
        if key == "kind" {
            continue;
        }
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) if s.is_empty() => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Array(a) if a.is_empty() => continue,
            serde_json::Value::Array(a) => a
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        };
        out.push((ctx.t.label("field", &key), text));
    }
    out
}
