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
