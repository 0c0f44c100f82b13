//! Any JSON as an ingest event (the `ingestEvents` mutation's items): validation refuses or accepts, never panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    creatorflow_ingest::fuzz_event_json(data);
});
