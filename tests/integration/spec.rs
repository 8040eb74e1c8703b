//! The contract travels with the code: `docs/spec.md` is the shared `PRODUCT.md` word for word,
//! so every "spec §N" of the code and README resolves in a fresh clone. CI clones the shared
//! material beside the repository (`../shared`), and there the two are compared.

use std::path::Path;

#[test]
fn docs_spec_is_the_shared_contract_word_for_word() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copy = std::fs::read_to_string(root.join("docs/spec.md")).expect("docs/spec.md is readable");
    assert!(copy.starts_with('#'), "docs/spec.md starts with its title");
    let shared = root.join("../shared/spec/PRODUCT.md");
    match std::fs::read_to_string(&shared) {
        Ok(original) => assert!(
            copy == original,
            "docs/spec.md differs from {}: copy it over (cp ../shared/spec/PRODUCT.md docs/spec.md)",
            shared.display()
        ),
        // Without the shared checkout there is nothing to compare with; the copy is the contract.
        Err(e) => eprintln!("{} is not readable ({e}); docs/spec.md was not compared", shared.display()),
    }
}
