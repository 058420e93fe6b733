//! The catalogue of error codes: every code the hub answers with (GraphQL
//! `extensions.code`, the JSON body of the plain endpoints) and the client reads, with
//! what it means in English and Japanese. A specific error carries its own message as
//! well (which value, which limit); the catalogue says what the code is for, so a
//! client can explain a code it meets and a newcomer finds them all in one place.
//!
//! A new code is one line here.

use serde::{Serialize, Serializer};

macro_rules! codes {
    ($($variant:ident = $code:literal, $en:literal, $ja:literal;)*) => {
        /// An error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(
                #[doc = $en]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in the catalogue's order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as it is sent, e.g. `TLP_LOOSENING`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }

            /// What the code means, in English.
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => $en),* }
            }

            /// What the code means, in Japanese.
            pub fn meaning_ja(self) -> &'static str {
                match self { $(Code::$variant => $ja),* }
            }

            /// The code a hub sent, if it is one of the catalogue's.
            pub fn parse(code: &str) -> Option<Code> {
                match code { $($code => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    Unauthenticated = "UNAUTHENTICATED", "a valid bearer token (or peer certificate) is required", "有効なベアラートークン（またはピア証明書）が必要です";
    Forbidden = "FORBIDDEN", "the caller's role may not do this", "このロールにはこの操作の権限がありません";
    NotFound = "NOT_FOUND", "no such item, or one the caller may not know exists", "該当するものがない（または呼び出し元が存在を知り得ない）";
    InvalidInput = "INVALID_INPUT", "an input value is malformed or out of range", "入力値の形式または範囲が不正です";
    Unavailable = "UNAVAILABLE", "the database (or another dependency) is unavailable; retry shortly", "データベース等に一時的に接続できません。しばらくして再試行してください";
    Internal = "INTERNAL", "an internal error; the cause is in the hub's log", "内部エラーです（原因はハブのログにあります）";
    NotReady = "NOT_READY", "the hub is still loading its indicator index; retry shortly", "ハブが指標索引を読み込み中です。しばらくして再試行してください";
    RateLimited = "RATE_LIMITED", "too many requests from this address or token", "このアドレスまたはトークンからの要求が多すぎます";
    LockedOut = "LOCKED_OUT", "too many failed authentications; locked for a while", "認証の失敗が続いたため一時的にロックされています";
    BadRequest = "BAD_REQUEST", "the request is not a GraphQL request", "GraphQLリクエストとして解釈できません";
    BodyTooLarge = "BODY_TOO_LARGE", "the request body is over the configured limit", "リクエスト本文が上限を超えています";
    IdempotencyConflict = "IDEMPOTENCY_CONFLICT", "an Idempotency-Key is in use by a request still running, or was used with another request", "Idempotency-Keyは実行中の要求が使用中か、別の要求で使用済みです";
    GraphqlParseFailed = "GRAPHQL_PARSE_FAILED", "the query does not parse", "クエリを構文解析できません";
    GraphqlValidationFailed = "GRAPHQL_VALIDATION_FAILED", "the query does not fit the schema", "クエリがスキーマに合っていません";
    QueryTooLarge = "QUERY_TOO_LARGE", "the query text is over 64 KiB", "クエリ本文が大きすぎます";
    QueryTooDeep = "QUERY_TOO_DEEP", "the query nests too deep", "クエリの入れ子が深すぎます";
    QueryTooWide = "QUERY_TOO_WIDE", "the query selects too many fields with its fragments expanded", "フラグメント展開後の選択フィールドが多すぎます";
    QueryTooCostly = "QUERY_TOO_COSTLY", "the query would cost more than the limit (list sizes multiply)", "クエリのコストが上限を超えます";
    TooManyAliases = "TOO_MANY_ALIASES", "the query has too many aliases", "クエリの別名が多すぎます";
    TooMuchIntrospection = "TOO_MUCH_INTROSPECTION", "the query asks for the schema too many times", "スキーマの問い合わせが多すぎます";
    FragmentCycle = "FRAGMENT_CYCLE", "a fragment spreads itself", "フラグメントが自分自身を展開しています";
    TooManyRepresentations = "TOO_MANY_REPRESENTATIONS", "too many _entities representations in one request", "1回の要求の_entities表現が多すぎます";
    InvalidRepresentation = "INVALID_REPRESENTATION", "an _entities representation names no entity of this hub", "_entitiesの表現がこのハブのエンティティを指していません";
    AnswerTooLarge = "ANSWER_TOO_LARGE", "the answer would be over the answer budget; ask for less", "応答が上限を超えます。件数を減らしてください";
    InvalidCursor = "INVALID_CURSOR", "not a cursor this hub returned", "このハブが返したカーソルではありません";
    BadCursor = "BAD_CURSOR", "not a cursor of the moderation queue", "モデレーションキューのカーソルではありません";
    LookupTooLarge = "LOOKUP_TOO_LARGE", "too many values in one lookup", "1回の照会の件数が多すぎます";
    BatchTooLarge = "BATCH_TOO_LARGE", "too many items in one call", "1回の呼び出しの件数が多すぎます";
    InvalidIndicator = "INVALID_INDICATOR", "an indicator value is not valid for its type; nothing was stored", "指標の値が種別に合っていません（何も保存されていません）";
    DuplicateInBatch = "DUPLICATE_IN_BATCH", "a value appears twice in one batch", "同じ値がバッチ内で重複しています";
    Allowlisted = "ALLOWLISTED", "an indicator is on a false-positive allowlist", "指標が誤検知許可リストに載っています";
    InvalidAllowlist = "INVALID_ALLOWLIST", "an allowlist has lines that are not entries; nothing was stored", "許可リストに不正な行があります（何も保存されていません）";
    InvalidAllowlistEntry = "INVALID_ALLOWLIST_ENTRY", "one line of an allowlist is not an entry", "許可リストの行が不正です";
    TlpRedNeedsRecipients = "TLP_RED_NEEDS_RECIPIENTS", "TLP:RED items must name their recipients", "TLP:REDの情報には受領組織の指定が必要です";
    RecipientsOnlyForRed = "RECIPIENTS_ONLY_FOR_RED", "only TLP:RED names recipients", "受領組織の指定はTLP:REDのみです";
    UnknownRecipient = "UNKNOWN_RECIPIENT", "a recipient is not an organisation of this hub", "受領組織がこのハブの組織ではありません";
    TlpLoosening = "TLP_LOOSENING", "only the submitter may loosen a label", "ラベルを緩められるのは提出者のみです";
    RedNotPending = "RED_NOT_PENDING", "a pending item cannot become TLP:RED", "保留中の情報はTLP:REDにできません";
    NoChange = "NO_CHANGE", "the change changes nothing", "変更内容が現在と同じです";
    LinkNarrowerThanItem = "LINK_NARROWER_THAN_ITEM", "a linked item is shared less widely than the item", "紐付ける情報の共有範囲が狭すぎます";
    UnknownReference = "UNKNOWN_REFERENCE", "a referenced item is missing or not visible to the submitter", "参照先が存在しないか、提出者から見えません";
    InvalidTechniqueId = "INVALID_TECHNIQUE_ID", "not an ATT&CK technique id", "ATT&CKの技術IDではありません";
    UnknownTechnique = "UNKNOWN_TECHNIQUE", "the technique is not in (or revoked in) the loaded ATT&CK catalog", "読み込まれたATT&CKカタログにない（または廃止された）技術です";
    AlreadyRevoked = "ALREADY_REVOKED", "the item is already revoked", "既に取り消されています";
    NotOrigin = "NOT_ORIGIN", "only the item's origin hub may change it", "変更できるのは発信元ハブのみです";
    NotChangeable = "NOT_CHANGEABLE", "only pending or published items change", "変更できるのは保留中または公開中の情報のみです";
    ReasonRequired = "REASON_REQUIRED", "a reason is required", "理由の記入が必要です";
    NotPending = "NOT_PENDING", "only pending items (or open changes) can be decided", "判断できるのは保留中の情報（または未処理の変更）のみです";
    SelfApproval = "SELF_APPROVAL", "nobody decides on their own submission", "自分の提出物は判断できません";
    VersionChanged = "VERSION_CHANGED", "the item changed since it was reviewed", "確認後に情報が更新されました";
    ChangeOutdated = "CHANGE_OUTDATED", "the item changed since the change was submitted", "変更の提出後に情報が更新されました";
    InvalidPatch = "INVALID_PATCH", "an approval's changes do not apply to the item", "承認時の修正内容が適用できません";
    Duplicate = "DUPLICATE", "an organisation of that name exists", "同名の組織が既にあります";
    DuplicateSupplier = "DUPLICATE_SUPPLIER", "the corporate number is already registered", "法人番号は既に登録されています";
    DuplicateScheme = "DUPLICATE_SCHEME", "the scheme version exists; add a new version", "評価スキームのそのバージョンは既にあります";
    InvalidCorporateNumber = "INVALID_CORPORATE_NUMBER", "not a valid 法人番号 (corporate number)", "法人番号が正しくありません";
    InvalidLei = "INVALID_LEI", "not a valid LEI", "LEIが正しくありません";
    InvalidScheme = "INVALID_SCHEME", "the assessment scheme is malformed", "評価スキームが不正です";
    UnknownScheme = "UNKNOWN_SCHEME", "no such assessment scheme", "該当する評価スキームがありません";
    UnknownCriterion = "UNKNOWN_CRITERION", "the scheme has no such criterion", "評価スキームにその評価項目がありません";
    AnswerOutOfScale = "ANSWER_OUT_OF_SCALE", "an answer is outside the scheme's scale", "回答が評価尺度の範囲外です";
    UnknownOffering = "UNKNOWN_OFFERING", "not an offering of this supplier", "このサプライヤーの製品・サービスではありません";
    SupplierNotActive = "SUPPLIER_NOT_ACTIVE", "the supplier is still a proposal", "サプライヤーはまだ提案段階です";
    OfferingNotActive = "OFFERING_NOT_ACTIVE", "the offering is still a proposal", "製品・サービスはまだ提案段階です";
    AlreadyDisputed = "ALREADY_DISPUTED", "the assessment already has an open dispute", "この評価には未解決の異議が既にあります";
    InvalidPeer = "INVALID_PEER", "a peer link's settings are invalid", "ピア接続の設定が不正です";
    PeerIdentityChanged = "PEER_IDENTITY_CHANGED", "a peer hub now gives another hub id", "ピアハブのIDが変わりました";
    AlreadyHeld = "ALREADY_HELD", "a page holds items already held; pull it again with lookups", "既に保持している項目を含むページです（照合して再取得します）";
    BadSignature = "BAD_SIGNATURE", "a signature does not verify", "署名を検証できません";
    MispNotAnEvent = "MISP_NOT_AN_EVENT", "the document is not a MISP event (or a part of it is malformed); nothing was imported", "MISPのイベントとして読めません（何も取り込まれていません）";
    MispUnsupportedType = "MISP_UNSUPPORTED_TYPE", "a MISP attribute type renkei does not hold", "renkeiが扱わないMISPの属性タイプです";
    MispUnknownTlp = "MISP_UNKNOWN_TLP", "a tlp: tag that is not a TLP 2.0 label; the label is never guessed", "TLP 2.0のラベルではないtlp:タグです（ラベルを推測しません）";
    MispConflictingTlp = "MISP_CONFLICTING_TLP", "an event or attribute carries two different TLP labels", "イベントまたは属性に異なるTLPラベルが複数付いています";
    MispUnknownDistribution = "MISP_UNKNOWN_DISTRIBUTION", "a MISP distribution level that is not 0–4 (or 5, inherit)", "MISPの配布レベル（0〜4、継承の5）ではありません";
    BadExport = "BAD_EXPORT", "an export's format, indicator type or file name is not one the hub writes", "エクスポートの形式・指標の種類・ファイル名が不正です";
    AuditKeyMismatch = "AUDIT_KEY_MISMATCH", "the audit log is chained with another key than this data folder's", "監査ログがこのデータフォルダーとは別の鍵で連鎖しています";
    HubKeyMismatch = "HUB_KEY_MISMATCH", "this process's keys are not the hub's keys in the database (another key-encryption key or data folder)", "このプロセスの鍵がデータベースにあるハブの鍵と一致しません（鍵暗号化鍵またはデータフォルダーが異なります）";
    StixInvalid = "STIX_INVALID", "a STIX object or bundle is malformed", "STIXのオブジェクトまたはバンドルの形式が不正です";
    StixUnsupported = "STIX_UNSUPPORTED", "a STIX object renkei does not store (its type, or a pattern beyond one comparison)", "renkeiが保存しない種類のSTIXオブジェクトです（型、または単一比較を超えるパターン）";
    UnknownMarking = "UNKNOWN_MARKING", "a marking that maps to no TLP 2.0 label; refused, never guessed wider", "TLP 2.0ラベルに対応しないマーキングです。より広い共有範囲と推測せず拒否しました";
    LabelAboveCollection = "LABEL_ABOVE_COLLECTION", "the object's label is above what the collection holds", "オブジェクトのラベルがコレクションの上限を超えています";
    ObjectExists = "OBJECT_EXISTS", "the id is taken by an item another organisation shared", "そのIDは他の組織が共有した情報で使われています";
    NotAcceptable = "NOT_ACCEPTABLE", "the Accept header asks for no media type this endpoint serves", "Acceptヘッダーにこのエンドポイントが返せるメディアタイプがありません";
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", "the request body's Content-Type is not one this endpoint reads", "リクエスト本文のContent-Typeを受け付けられません";
    SecondFactorRefused = "SECOND_FACTOR_REFUSED", "the second factor (security key or one-time code) was not accepted", "二要素目（セキュリティキーまたはワンタイムコード）が受け付けられませんでした";
    SecondFactorRequired = "SECOND_FACTOR_REQUIRED", "coordinators sign in to the console with a second factor", "コーディネーターのコンソールへのサインインには二要素目が必要です";
    CsrfRefused = "CSRF_REFUSED", "a console form was posted without its session's token (reload the page and try again)", "コンソールのフォームがセッションのトークンなしで送信されました（ページを再読み込みしてください）";
    SessionExpired = "SESSION_EXPIRED", "the console session ended (idle too long, too old, or signed out)", "コンソールのセッションが終了しました（無操作・有効期間切れ・サインアウト）";
    InvalidOrgKey = "INVALID_ORG_KEY", "an organisation key registration is malformed, its signatures do not verify, or its introduction is missing or refused", "組織鍵の登録内容が不正です（形式・署名・紹介のいずれかに問題があります）";
    DuplicateOrgKey = "DUPLICATE_ORG_KEY", "that organisation key is already registered", "その組織鍵は既に登録されています";
    InvalidSealed = "INVALID_SEALED", "a sealed item is malformed or its id is not of its kind; nothing was stored", "封緘された情報の形式またはIDが不正です（何も保存されていません）";
    NoOrgKey = "NO_ORG_KEY", "a recipient organisation has no current encryption key to seal to", "受領組織に封緘先となる有効な暗号鍵がありません";
    SealedKeysMismatch = "SEALED_KEYS_MISMATCH", "a sealed item is not wrapped to exactly the recipients' (and sender's) current keys; fetch the keys again and reseal", "封緘先の鍵が受領組織（と送信組織）の現在の鍵と一致しません。鍵を取得し直して封緘し直してください";
    SealingRequired = "SEALING_REQUIRED", "every recipient has an encryption key: share this TLP:RED item sealed", "すべての受領組織に暗号鍵があります。このTLP:REDの情報は封緘して共有してください";
    SealedFixed = "SEALED_FIXED", "a sealed item can't be loosened or corrected; its sender re-shares it", "封緘された情報は緩めることも訂正することもできません。送信者が共有し直します";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_screaming_snake_case_with_both_texts_and_parses_back() {
        let mut seen = std::collections::HashSet::new();
        for &code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'), "{s}");
            assert!(!code.meaning().is_empty() && !code.meaning_ja().is_empty(), "{s}");
            assert!(!code.meaning_ja().is_ascii(), "{s} has no Japanese text");
            assert_eq!(Code::parse(s), Some(code));
        }
        assert_eq!(Code::parse("NO_SUCH_CODE"), None);
    }
}
