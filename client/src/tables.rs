//! Every table of the member's register, in one place (`diesel::table!`), so a join
//! needs this module and the aggregates it reads, never another aggregate's module.
//! The migrations that create them are in `client/migrations/`.

diesel::table! {
    assets (name) {
        name -> Text,
        kind -> Text,
        services -> Text,
        criticality -> Integer,
        vendor -> Nullable<Text>,
        product -> Nullable<Text>,
        version -> Nullable<Text>,
        cpe -> Nullable<Text>,
        cpe_vendor -> Nullable<Text>,
        cpe_product -> Nullable<Text>,
        ics_asset_types -> Text,
        supplier_ids -> Text,
        offering_ids -> Text,
        zone -> Nullable<Text>,
        exposure -> Nullable<Text>,
        updated_at -> Text,
    }
}

diesel::table! {
    asset_links (asset, kind, value) {
        asset -> Text,
        kind -> Text,
        value -> Text,
    }
}

diesel::table! {
    attack_targets (technique, asset_type) {
        technique -> Text,
        asset_type -> Text,
    }
}

diesel::table! {
    suppliers (id) {
        id -> Text,
        name -> Text,
        score -> Nullable<Integer>,
        tier -> Nullable<Text>,
        fetched_at -> Text,
    }
}

diesel::table! {
    offering_suppliers (offering) {
        offering -> Text,
        supplier -> Text,
    }
}

diesel::table! {
    supplier_chain (parent, subcontractor) {
        parent -> Text,
        subcontractor -> Text,
    }
}

diesel::table! {
    flags (id) {
        id -> Integer,
        risk_id -> Text,
        source -> Text,
        source_revision -> BigInt,
        trigger_kind -> Text,
        quality -> Text,
        priority -> Integer,
        status -> Text,
        detail -> Text,
        created_at -> Text,
        updated_at -> Text,
        resolution -> Nullable<Text>,
    }
}

diesel::table! {
    profile (area) {
        area -> Text,
        current_tier -> Integer,
        target_tier -> Integer,
        priority -> Integer,
        note -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    items (id) {
        id -> Text,
        kind -> Text,
        revision -> BigInt,
        tlp -> Text,
        seq -> BigInt,
        stix -> Text,
        signature -> Text,
        received_at -> Text,
    }
}

diesel::table! {
    pending_tombstones (id) {
        id -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    risks (id) {
        id -> Text,
        revision -> Integer,
        title -> Text,
        level -> Integer,
        score -> Integer,
        matrix_version -> BigInt,
        last_reviewed_at -> Text,
        body -> Text,
    }
}

diesel::table! {
    risk_revisions (risk_id, revision) {
        risk_id -> Text,
        revision -> Integer,
        at -> Text,
        note -> Text,
        body -> Text,
    }
}

diesel::table! {
    risk_links (risk_id, kind, value) {
        risk_id -> Text,
        kind -> Text,
        value -> Text,
    }
}

diesel::table! {
    services (name) {
        name -> Text,
        body -> Text,
        updated_at -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    assets,
    asset_links,
    attack_targets,
    suppliers,
    offering_suppliers,
    supplier_chain,
    flags,
    profile,
    settings,
    items,
    pending_tombstones,
    risks,
    risk_revisions,
    risk_links,
    services,
);

// Issue 21 (the rest of the handbook in the register): each part keeps its tables
// under its own heading and, for joins among them, its own
// `allow_tables_to_appear_in_same_query!`.

// == Framework catalogs, mappings, the profile per subcategory, treatment plans (4.2, 6.1-6.3) ==

diesel::table! {
    catalogs (framework) {
        framework -> Text,
        uuid -> Text,
        title -> Text,
        version -> Text,
        licence -> Text,
        source -> Text,
        imported_at -> Text,
    }
}

diesel::table! {
    catalog_controls (framework, label) {
        framework -> Text,
        label -> Text,
        parent -> Nullable<Text>,
        kind -> Text,
        title -> Text,
        title_ja -> Nullable<Text>,
        text -> Text,
        sort_order -> Integer,
    }
}

diesel::table! {
    catalog_mappings (source_framework, source_label, target_framework, target_label) {
        source_framework -> Text,
        source_label -> Text,
        target_framework -> Text,
        target_label -> Text,
        relationship -> Text,
    }
}

diesel::table! {
    profile_entries (framework, label) {
        framework -> Text,
        label -> Text,
        current_tier -> Integer,
        target_tier -> Integer,
        priority -> Integer,
        motive -> Text,
        evidence -> Text,
        owner -> Nullable<Text>,
        cost -> Text,
        cost_estimate -> Nullable<Double>,
        note -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    plan_actions (id) {
        id -> Text,
        title -> Text,
        owner -> Text,
        due -> Text,
        cost -> Nullable<Double>,
        status -> Text,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    plan_links (action_id, kind, framework, value) {
        action_id -> Text,
        kind -> Text,
        framework -> Text,
        value -> Text,
    }
}

diesel::table! {
    plan_history (id) {
        id -> Integer,
        action_id -> Text,
        at -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        note -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    catalogs,
    catalog_controls,
    catalog_mappings,
    profile_entries,
    plan_actions,
    plan_links,
    plan_history,
);

// == Attack trees (5.2) ==

diesel::table! {
    attack_trees (id) {
        id -> Text,
        risk_id -> Text,
        damage -> Text,
        body -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    attack_tree_leaves (tree_id, node) {
        tree_id -> Text,
        node -> Text,
        technique -> Text,
        asset -> Text,
        path -> Text,
    }
}

// == Risk appetite and tolerance (5.1), contingency readiness (7, annex) ==

diesel::table! {
    appetite_statements (service, kind) {
        service -> Text,
        kind -> Text,
        max_incidents -> Integer,
        period_days -> Integer,
        max_degradation -> Double,
        max_outage_hours -> Nullable<Double>,
        statement -> Text,
        statement_ja -> Text,
        revision -> Integer,
        updated_at -> Text,
    }
}

diesel::table! {
    own_incidents (id) {
        id -> BigInt,
        service -> Text,
        started_at -> Text,
        ended_at -> Text,
        degradation -> Double,
        title -> Text,
        recorded_at -> Text,
    }
}

diesel::table! {
    readiness (trait_id) {
        #[sql_name = "trait"]
        trait_id -> Integer,
        answer -> Text,
        evidence -> Text,
        review_days -> Integer,
        risks -> Text,
        trees -> Text,
        owner -> Nullable<Text>,
        reviewed_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    readiness_reviews (id) {
        id -> BigInt,
        #[sql_name = "trait"]
        trait_id -> Integer,
        at -> Text,
        note -> Text,
        answered -> Text,
    }
}

diesel::table! {
    readiness_intel (trait_id, item_id) {
        #[sql_name = "trait"]
        trait_id -> Integer,
        item_id -> Text,
        item_kind -> Text,
        item_revision -> BigInt,
        reason -> Text,
        reason_ja -> Text,
        noted_at -> Text,
        reviewed_at -> Nullable<Text>,
    }
}

diesel::table! {
    org_keys (key_id) {
        key_id -> Text,
        org -> Text,
        public -> Text,
        pinned_at -> Text,
    }
}

diesel::table! {
    sealed_items (id) {
        id -> Text,
        seq -> BigInt,
        sealed -> Text,
        sender_org -> Nullable<Text>,
        sender_key -> Nullable<Text>,
        opened_at -> Text,
    }
}

diesel::table! {
    unopened_items (id) {
        id -> Text,
        kind -> Text,
        revision -> BigInt,
        tlp -> Text,
        seq -> BigInt,
        sealed -> Text,
        signature -> Text,
        reason -> Text,
        received_at -> Text,
    }
}
