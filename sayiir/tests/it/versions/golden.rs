//! Golden identities: the definition hashes and fingerprints of a few workflows, pinned as
//! literals. A change to how either is computed (the canonical encodings, how tokens are
//! printed, how shapes are traced) would give every running instance a new identity and strand
//! it: such a change must be deliberate, and show up here first.

use sayiir::{Engine, MemoryStore, Workflow};

use super::flows::{notify, v1, v2, v3};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(definition hash, fingerprint)` of `W` as registered.
fn identity<W: Workflow>() -> (String, String) {
    let engine = Engine::builder(MemoryStore::new())
        .register::<W>()
        .build()
        .unwrap();
    let shape = engine
        .definitions()
        .into_iter()
        .find(|d| d.name == W::NAME && d.version == W::VERSION)
        .unwrap();
    assert_eq!(shape.hash, hex(&W::DEFINITION_HASH));
    (hex(&W::DEFINITION_HASH), hex(&shape.fingerprint()))
}

#[test]
fn definition_hashes_and_fingerprints_are_pinned() {
    let got = [
        ("checkout v1", identity::<v1::checkout>()),
        ("checkout v2", identity::<v2::checkout>()),
        ("checkout v3", identity::<v3::checkout>()),
        ("notify", identity::<notify>()),
        ("keep", identity::<super::fingerprints::base::keep>()),
    ];
    // Versions 1 and 2 store the same types in the same states: one fingerprint, two hashes.
    let want = [
        (
            "checkout v1",
            (
                "2449102bfe1796e7b5bf8c5c7b16b56613afb47877c10979109904bacb0a6206",
                "8bd09a6f7c4ab37a424dd64e5e283b1eee22e7c4ed2064ccca6db5e339388d07",
            ),
        ),
        (
            "checkout v2",
            (
                "a20dc0148c16acd2a605353e00d12b1609ff6dc44087025aa2e981648dfa71c8",
                "8bd09a6f7c4ab37a424dd64e5e283b1eee22e7c4ed2064ccca6db5e339388d07",
            ),
        ),
        (
            "checkout v3",
            (
                "8a65e5451409326a4278df48833ac90314836d6e09d97a7fbef7d46da1d737e8",
                "72d455400f93e449038dc6beeef3b510acd650a12953681f5a538c3d8eaec4bc",
            ),
        ),
        (
            "notify",
            (
                "9a73bb7fb9fd12836d890ede261511ab2c684af26e6a748f2f36bfd04673797f",
                "945e004278c752f22b4c7c13d0030d3d4fedc706a3f3f930b94938c0a7894c52",
            ),
        ),
        (
            "keep",
            (
                "4262963dea6df6c1ca834b41f81a5a06f453d31872348ae59e6b5997132bdbfb",
                "749fef3cd54b82a0ffbad59b7501cf334e9d422c6adf45849ec01f9a38f581a5",
            ),
        ),
    ];
    for ((name, (hash, fp)), (_, (want_hash, want_fp))) in got.iter().zip(want) {
        assert_eq!(
            (name, hash.as_str(), fp.as_str()),
            (name, want_hash, want_fp)
        );
    }
}

#[test]
fn the_definition_hash_is_a_const() {
    const H: [u8; 32] = v1::checkout::DEFINITION_HASH;
    assert_eq!(H, <v1::checkout as Workflow>::DEFINITION_HASH);
    assert_eq!(<v2::checkout as Workflow>::VERSION, 2);
    assert_eq!(<v2::checkout as Workflow>::NAME, "checkout");
    assert_ne!(v1::checkout::DEFINITION_HASH, v2::checkout::DEFINITION_HASH);
}
