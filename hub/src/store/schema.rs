//! diesel table definitions, portable across PostgreSQL and SQLite.
//! Kept by hand in step with `migrations/{postgres,sqlite}/`.

diesel::table! {
    hub_meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        sector -> Text,
        is_coordinator -> Bool,
        created_at -> Text,
        trust -> Text,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        org_id -> Text,
        role -> Text,
        digest -> Text,
        created_at -> Text,
        expires_at -> Nullable<Text>,
        revoked_at -> Nullable<Text>,
        grants -> Text,
        name -> Nullable<Text>,
    }
}

diesel::table! {
    objects (id) {
        id -> Text,
        kind -> Text,
        revision -> BigInt,
        tlp -> Text,
        recipients -> Text,
        status -> Text,
        submitter_org -> Text,
        anonymous -> Bool,
        valid_until -> Nullable<Text>,
        indicator_type -> Nullable<Text>,
        indicator_value -> Nullable<Text>,
        envelope -> Text,
        body -> Text,
        first_seq -> BigInt,
        last_seq -> BigInt,
    }
}

diesel::table! {
    object_versions (seq) {
        seq -> BigInt,
        object_id -> Text,
        revision -> BigInt,
        kind -> Text,
        tlp -> Text,
        recipients -> Text,
        status -> Text,
        submitter_org -> Text,
        anonymous -> Bool,
        prev_tlp -> Nullable<Text>,
        prev_recipients -> Nullable<Text>,
        prev_status -> Nullable<Text>,
        stix -> Text,
        signature -> Text,
        recorded_at -> Text,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Text,
        actor_org -> Nullable<Text>,
        actor_token -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        detail -> Text,
        source -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    attack_techniques (attack_id) {
        attack_id -> Text,
        stix_id -> Text,
        name -> Text,
        domain -> Text,
        tactics -> Text,
        platforms -> Text,
        is_subtechnique -> Bool,
        revoked -> Bool,
        deprecated -> Bool,
        description -> Text,
    }
}

diesel::table! {
    attack_tactics (attack_id) {
        attack_id -> Text,
        stix_id -> Text,
        shortname -> Text,
        name -> Text,
        domain -> Text,
    }
}

diesel::table! {
    attack_mitigations (attack_id) {
        attack_id -> Text,
        stix_id -> Text,
        name -> Text,
        domain -> Text,
        revoked -> Bool,
        deprecated -> Bool,
    }
}

diesel::table! {
    attack_assets (attack_id) {
        attack_id -> Text,
        stix_id -> Text,
        name -> Text,
        platforms -> Text,
        revoked -> Bool,
        deprecated -> Bool,
    }
}

diesel::table! {
    attack_relations (kind, source_id, target_id) {
        kind -> Text,
        source_id -> Text,
        target_id -> Text,
    }
}

diesel::table! {
    moderation (id) {
        id -> Text,
        kind -> Text,
        first_seq -> BigInt,
        last_seq -> BigInt,
        submitter_org -> Text,
        submitted_token -> Text,
        submitted_at -> Text,
        queued_because -> Text,
        item_reasons -> Text,
        is_open -> Bool,
    }
}

diesel::table! {
    sightings (id) {
        id -> Text,
        object_id -> Text,
        org_id -> Text,
        token_id -> Text,
        kind -> Text,
        count -> BigInt,
        first_seen -> Text,
        last_seen -> Text,
        anonymous -> Bool,
        recorded_at -> Text,
    }
}

diesel::table! {
    allowlist_entries (list_name, entry) {
        list_name -> Text,
        entry -> Text,
        added_at -> Text,
    }
}

diesel::table! {
    suppliers (id) {
        id -> Text,
        legal_name -> Text,
        name_ja -> Text,
        name_en -> Nullable<Text>,
        aliases -> Text,
        corporate_number -> Nullable<Text>,
        lei -> Nullable<Text>,
        country -> Text,
        parent_id -> Nullable<Text>,
        cpe_vendors -> Text,
        status -> Text,
        proposed_by -> Nullable<Text>,
        created_at -> Text,
        search_text -> Text,
    }
}

diesel::table! {
    offerings (id) {
        id -> Text,
        supplier_id -> Text,
        name -> Text,
        kind -> Text,
        cpe_products -> Text,
        versions -> Text,
        sectors -> Text,
        subcontractors -> Text,
        status -> Text,
        proposed_by -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::table! {
    assessment_schemes (id, version) {
        id -> Text,
        version -> Text,
        reference_only -> Bool,
        body -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    assessment_subjects (object_id) {
        object_id -> Text,
        supplier_id -> Text,
        first_seq -> BigInt,
    }
}

diesel::table! {
    assessment_disputes (id) {
        id -> Text,
        assessment_id -> Text,
        statement -> Text,
        recorded_by -> Text,
        recorded_at -> Text,
        state -> Text,
        resolution -> Nullable<Text>,
        resolved_at -> Nullable<Text>,
    }
}

// The indicator index catches up by joining versions to their objects.
diesel::table! {
    supplier_ratings (subject_id, audience, scheme_id) {
        subject_id -> Text,
        audience -> Text,
        scheme_id -> Text,
        scheme_version -> Text,
        supplier_id -> Text,
        tier -> Nullable<Text>,
        flags -> Text,
        has_inputs -> Bool,
        rating -> Text,
        next_change_at -> Nullable<Text>,
        updated_seq -> BigInt,
    }
}

diesel::table! {
    rating_audiences (supplier_id, org_id) {
        supplier_id -> Text,
        org_id -> Text,
        since_seq -> BigInt,
    }
}

diesel::table! {
    rating_events (seq) {
        seq -> BigInt,
        id -> Text,
        subject_id -> Text,
        supplier_id -> Text,
        audience -> Text,
        scheme_id -> Text,
        tlp -> Text,
        recipients -> Text,
        worsened -> Bool,
        at -> Text,
        stix -> Text,
        signature -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(objects, object_versions);
diesel::joinable!(peer_status -> peers (name));
diesel::allow_tables_to_appear_in_same_query!(peers, peer_status);

diesel::table! {
    peers (name) {
        name -> Text,
        hub_id -> Nullable<Text>,
        org_id -> Text,
        url -> Text,
        public_key -> Text,
        max_tlp -> Text,
        community -> Bool,
        direction -> Text,
        kinds -> Text,
        token -> Nullable<Text>,
        ca_pem -> Nullable<Text>,
        client_cert_sha256 -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::table! {
    peer_status (name) {
        name -> Text,
        cursor -> BigInt,
        peer_head -> BigInt,
        received -> BigInt,
        refused -> Text,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Text>,
        last_success_at -> Nullable<Text>,
        sightings_cursor -> BigInt,
    }
}

diesel::table! {
    sighting_changes (seq) {
        seq -> BigInt,
        object_id -> Text,
        reporting_hub -> Text,
    }
}

diesel::table! {
    received_sightings (object_id, reporting_hub) {
        object_id -> Text,
        reporting_hub -> Text,
        version -> BigInt,
        aggregate -> Text,
        signature -> Text,
        reporting_key -> Text,
        path -> Text,
        via_peer -> Text,
        received_at -> Text,
    }
}

diesel::table! {
    hub_keys (hub) {
        hub -> Text,
        public_key -> Text,
        learned_via -> Text,
        learned_at -> Text,
    }
}

diesel::table! {
    audit_checkpoints (seq) {
        seq -> BigInt,
        id -> Text,
        at -> Text,
        stix -> Text,
        signature -> Text,
    }
}

diesel::table! {
    pending_changes (id) {
        id -> Text,
        queued_seq -> BigInt,
        object_id -> Text,
        base_revision -> BigInt,
        change -> Text,
        envelope -> Text,
        body -> Text,
        detail -> Text,
        submitter_org -> Text,
        submitted_token -> Text,
        submitted_at -> Text,
        queued_because -> Text,
        state -> Text,
        decision -> Nullable<Text>,
    }
}

diesel::table! {
    taxii_status (id) {
        id -> Text,
        org_id -> Text,
        created_at -> Text,
        expires_at -> Text,
        body -> Text,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Text,
        token_id -> Text,
        csrf -> Text,
        stage -> Text,
        challenge -> Nullable<Text>,
        created_at -> Text,
        last_seen -> Text,
        absolute_until -> Text,
    }
}

diesel::table! {
    second_factors (id) {
        id -> Text,
        token_id -> Text,
        kind -> Text,
        label -> Text,
        credential_id -> Nullable<Text>,
        public_key -> Nullable<Text>,
        secret -> Nullable<Text>,
        counter -> BigInt,
        created_at -> Text,
        last_used_at -> Nullable<Text>,
    }
}

diesel::table! {
    console_enrolments (token_id) {
        token_id -> Text,
        code_digest -> Text,
        expires_at -> Text,
    }
}

diesel::table! {
    identity_keys (id) {
        id -> Text,
        purpose -> Text,
        public_key -> Nullable<Text>,
        sealed -> Text,
        created_at -> Text,
        from_seq -> Nullable<BigInt>,
        retired -> Bool,
    }
}

diesel::table! {
    hub_key_announcements (seq) {
        seq -> BigInt,
        id -> Text,
        at -> Text,
        stix -> Text,
        signature -> Text,
    }
}

diesel::table! {
    peer_key_history (link, from_seq) {
        link -> Text,
        public_key -> Text,
        from_seq -> BigInt,
        learned_at -> Text,
    }
}

diesel::table! {
    org_keys (key_id) {
        key_id -> Text,
        org_id -> Text,
        registration -> Text,
        introduced_by -> Nullable<Text>,
        replaces -> Nullable<Text>,
        revoked -> Bool,
        pending -> Bool,
        registered_at -> Text,
        revoked_at -> Nullable<Text>,
    }
}
