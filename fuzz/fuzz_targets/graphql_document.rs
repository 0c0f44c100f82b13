//! A GraphQL request body's document: parsing and the pre-validation limits must never panic or hang.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        creatorflow_api::limits::fuzz_document(text);
    }
});
