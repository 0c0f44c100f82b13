//! Any bytes as a products or stock CSV: a plan or a precise error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    creatorflow_import::fuzz_plan(data);
});
