//! The GraphQL contract is checked in at `schema/hub.graphql`; this fails when the hub
//! drifts from it. Regenerate with `RENKEI_UPDATE_SDL=1 cargo test -p renkei-hub --test sdl`
//! and review the diff: clients and peer hubs depend on it.

#[test]
fn graphql_schema_matches_the_checked_in_sdl() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/hub.graphql");
    let actual = renkei_hub::graphql::sdl();
    if std::env::var("RENKEI_UPDATE_SDL").is_ok() {
        std::fs::write(path, &actual).expect("write SDL");
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert!(expected == actual, "schema/hub.graphql is out of date; see this test's header. Current SDL:\n{actual}");
}

/// What `_service { sdl }` gives an Apollo Federation gateway: the v2 `@link` and an
/// `id` key on every type other subgraphs may reference. (tests/tests/apollo.rs composes
/// a running hub with the real `@apollo/gateway`.)
#[test]
fn federation_sdl_links_federation_v2_and_keys_the_shared_types_by_id() {
    let sdl = renkei_hub::graphql::federation_sdl();
    assert!(sdl.contains("extend schema @link(\n\turl: \"https://specs.apollo.dev/federation/v2."), "{sdl}");
    for ty in ["Indicator", "Technique", "Incident", "Advisory", "SupplierAssessment", "Supplier", "Offering"] {
        assert!(sdl.contains(&format!("type {ty} @key(fields: \"id\") {{")), "{ty} has no @key:\n{sdl}");
    }
    assert!(sdl.contains("type Query {") && sdl.contains("type Mutation {"), "the roots keep the default names");
    assert!(!sdl.contains("\t_entities(") && !sdl.contains("\t_service:"), "the federation fields are left out");
}
