//! The console's two languages: every label, message and error in Japanese and English,
//! as Project Fluent messages (`hub/console/i18n/{ja,en}.ftl`, compiled into the
//! binary). The language is the `renkei_lang` cookie's (the switch in every page's
//! header), else the browser's preference (`Accept-Language`), else Japanese.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language (what the switch offers).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// The first language of an `Accept-Language` header (by quality) that the console
    /// speaks.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut ranked: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                let primary = tag.split('-').next()?;
                Lang::parse(primary).map(|l| (q, l))
            })
            .filter(|(q, _)| *q > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, l)| *l)
    }
}

/// The message files, one per area of the console, each in both languages:
/// `hub/console/i18n/{en,ja}/<area>.ftl`.
macro_rules! areas {
    ($($area:literal),*) => {
        pub const EN_FTL: &[&str] = &[$(include_str!(concat!("../../console/i18n/en/", $area, ".ftl"))),*];
        pub const JA_FTL: &[&str] = &[$(include_str!(concat!("../../console/i18n/ja/", $area, ".ftl"))),*];
    };
}
areas!("core", "admin", "procurement");

struct Bundles {
    ja: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(lang: &str, sources: &[&'static str]) -> FluentBundle<FluentResource> {
    let id: unic_langid::LanguageIdentifier = lang.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks would show up in attributes and in copied text.
    bundle.set_use_isolating(false);
    for source in sources {
        // A syntax error in a message file is caught by the tests (`messages_parse`);
        // here the parts that parsed are kept.
        let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(partial, _)| partial);
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(?errors, lang, "console messages clash");
        }
    }
    bundle
}

static BUNDLES: LazyLock<Bundles> = LazyLock::new(|| Bundles { ja: bundle("ja", JA_FTL), en: bundle("en", EN_FTL) });

/// A number a message counts (templates pass their fields by reference).
pub trait Count {
    fn count(&self) -> i64;
}

impl Count for i64 {
    fn count(&self) -> i64 {
        *self
    }
}

impl Count for usize {
    fn count(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}

impl Count for u64 {
    fn count(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}

impl Count for u32 {
    fn count(&self) -> i64 {
        i64::from(*self)
    }
}

impl Count for i32 {
    fn count(&self) -> i64 {
        i64::from(*self)
    }
}

impl<T: Count> Count for &T {
    fn count(&self) -> i64 {
        (*self).count()
    }
}

/// The translator a page renders with.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    fn bundle(&self) -> &'static FluentBundle<FluentResource> {
        match self.lang {
            Lang::Ja => &BUNDLES.ja,
            Lang::En => &BUNDLES.en,
        }
    }

    /// A message by id (the id itself when missing, which the tests forbid).
    pub fn get(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with arguments.
    pub fn with(&self, id: &str, args: &[(&str, String)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, FluentValue::from(value.clone()));
        }
        self.format(id, Some(&fluent))
    }

    /// A message with one number argument `n` (plural forms).
    pub fn count(&self, id: &str, n: impl Count) -> String {
        let mut fluent = FluentArgs::new();
        fluent.set("n", FluentValue::from(n.count()));
        self.format(id, Some(&fluent))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let bundle = self.bundle();
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_string();
        };
        let mut errors = Vec::new();
        bundle.format_pattern(pattern, args, &mut errors).into_owned()
    }

    /// A label that may be missing (field names of stored items): the message
    /// `prefix-key`, or the key as it is.
    pub fn label(&self, prefix: &str, key: &str) -> String {
        let id = format!("{prefix}-{key}");
        if self.bundle().has_message(&id) {
            self.get(&id)
        } else {
            key.to_string()
        }
    }

    /// One of a pair of texts the data carries in both languages (an error's message,
    /// a supplier's name): this language's when there is one.
    /// When this language's text is empty, the other's.
    pub fn pick<'a>(&self, en: &'a str, ja: &'a str) -> &'a str {
        match self.lang {
            Lang::Ja if !ja.is_empty() => ja,
            Lang::En if en.is_empty() => ja,
            _ => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every message id the files define; a file that does not parse, or an id defined
    /// twice, fails.
    fn ids(sources: &[&str]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for source in sources {
            let resource = match FluentResource::try_new(source.to_string()) {
                Ok(r) => r,
                Err((_, errors)) => panic!("a message file does not parse: {errors:?}"),
            };
            for entry in resource.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    assert!(out.insert(m.id.name.to_string()), "message {} is defined twice", m.id.name);
                }
            }
        }
        out
    }

    #[test]
    fn messages_parse_and_both_languages_have_every_message() {
        let ja = ids(JA_FTL);
        let en = ids(EN_FTL);
        assert!(en.len() > 50, "the English messages are missing");
        let only_en: Vec<_> = en.difference(&ja).collect();
        let only_ja: Vec<_> = ja.difference(&en).collect();
        assert!(only_en.is_empty() && only_ja.is_empty(), "only in en: {only_en:?}; only in ja: {only_ja:?}");
    }

    /// Every message a template or handler asks for by a literal id exists.
    #[test]
    fn every_message_asked_for_exists() {
        let known = ids(EN_FTL);
        let mut missing = Vec::new();
        let roots = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/console/templates"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/console"),
        ];
        for root in roots {
            for entry in std::fs::read_dir(root).expect("read dir") {
                let path = entry.expect("entry").path();
                let text = std::fs::read_to_string(&path).expect("read");
                for call in ["t.get(\"", "t.count(\"", "t.with(\""] {
                    for piece in text.split(call).skip(1) {
                        let id = piece.split('"').next().unwrap_or_default();
                        if !known.contains(id) {
                            missing.push(format!("{}: {id}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "messages asked for but not defined: {missing:#?}");
    }

    #[test]
    fn the_browser_preference_decides_by_quality() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,ja;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr, ja;q=0.5, en;q=0.4"), Some(Lang::Ja));
        assert_eq!(Lang::from_accept_language("de-DE"), None);
        assert_eq!(Lang::from_accept_language("en;q=0, ja;q=0.1"), Some(Lang::Ja));
    }

    #[test]
    fn messages_format_in_both_languages() {
        assert_eq!(Tr::new(Lang::En).get("nav-sign-out"), "Sign out");
        assert_eq!(Tr::new(Lang::Ja).get("nav-sign-out"), "サインアウト");
        assert_eq!(Tr::new(Lang::En).get("no-such-message"), "no-such-message");
        assert_eq!(Tr::new(Lang::En).pick("", "北計器"), "北計器", "a name only in Japanese is still shown");
        assert_eq!(Tr::new(Lang::Ja).pick("Kita", ""), "Kita");
    }
}
